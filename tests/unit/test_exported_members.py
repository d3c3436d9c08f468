"""The package's public surface is deliberate."""

import decentralml


def test_all_is_pinned() -> None:
    assert set(decentralml.__all__) == {
        "AccountError",
        "ArchiveRefused",
        "ChainError",
        "ChainUnavailable",
        "ConfigError",
        "ContentNotFound",
        "DecentralMLError",
        "DigestMismatch",
        "ExtrinsicFailed",
        "IpfsUnavailable",
        "ServiceUnavailable",
        "StorageError",
        "__version__",
    }
    for name in decentralml.__all__:
        assert hasattr(decentralml, name)


def test_chain_surface_is_pinned() -> None:
    import decentralml.chain

    assert set(decentralml.chain.__all__) == {
        "DEFAULT_ERA_PERIOD",
        "DEFAULT_INCLUSION_TIMEOUT",
        "DEFAULT_TIMEOUT",
        "HOLD_REASONS",
        "AccountBalance",
        "Assignment",
        "ChainClient",
        "ChainEvent",
        "PendingExtrinsic",
        "Receipt",
        "Submission",
        "TaskInfo",
        "TaskKind",
        "TaskStatus",
        "commitment_preimage",
        "keypair_from_uri",
        "new_salt",
        "result_commitment",
        "TokenInfo",
        "ValidationPolicy",
    }
    for name in decentralml.chain.__all__:
        assert hasattr(decentralml.chain, name)


def test_every_error_derives_from_the_base() -> None:
    from decentralml import errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, errors.DecentralMLError), cls
        assert cls.__doc__, f"{cls.__name__} has no docstring"


def test_validation_surface_is_pinned() -> None:
    import decentralml.validation
    from decentralml.errors import DecentralMLError
    from decentralml.validation import _errors

    assert set(decentralml.validation.__all__) == {
        "DEFAULT_MIN_IMPROVEMENT",
        "MAX_REASON_BYTES",
        "AggregationError",
        "Candidate",
        "CopyCheck",
        "FloorCheck",
        "PolicyError",
        "Verdict",
        "Workspace",
        "WorkspaceError",
        "accept",
        "reject",
        "KerasLimits",
        "KrumSelection",
        "LayerSource",
        "MalformedResult",
        "MissingExtra",
        "ResultRefused",
        "UnsafeResult",
        "ValidationError",
        "WeightsReader",
        "check_floor",
        "check_keras_archive",
        "coordinate_median",
        "fedavg",
        "find_copies",
        "krum",
        "load_engineered_model",
        "load_weights_npz",
        "trimmed_mean",
    }
    for name in decentralml.validation.__all__:
        assert hasattr(decentralml.validation, name)
    classes = [
        v for v in vars(_errors).values() if isinstance(v, type) and v is not DecentralMLError
    ]
    assert len(classes) == 6
    for cls in classes:
        assert issubclass(cls, DecentralMLError), cls
        assert cls.__doc__, f"{cls.__name__} has no docstring"
