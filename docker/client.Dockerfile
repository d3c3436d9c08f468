# The client: the decentralml package with the tensorflow extra, the example kits and
# policies of assets/ in /opt/decentralml/assets, and the demo flow (scripts/demo_flow.py) in
# /opt/decentralml/scripts. The entrypoint is the `decentralml` CLI; point it at a chain and a
# Kubo API with --url/--ipfs-api or DECENTRALML_URL/DECENTRALML_IPFS_API.
#
#   docker build -f docker/client.Dockerfile -t decentralml/client .          (with internet)
#   docker build -f docker/client.Dockerfile --build-arg BASE=decentralml/base:bookworm ...
#
# BASE is an official Python image, or a plain Debian one (then Debian's python3 is used).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
COPY docker/scripts/ /usr/local/bin/
COPY docker/extra-ca/ /tmp/extra-ca/
RUN install-extra-ca \
    && if ! command -v python3 >/dev/null; then \
        apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3 python3-venv >/dev/null \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=180
# The dependencies first, from the list pyproject.toml gives (computed in a stage of its own,
# so that an unrelated change to pyproject.toml does not download TensorFlow again), plus what
# building the package needs.
FROM build AS requirements
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c 'import tomllib; p = tomllib.load(open("/src/pyproject.toml", "rb")); print("\n".join(p["project"]["dependencies"] + p["project"]["optional-dependencies"]["tensorflow"] + p["build-system"]["requires"]))' \
        > /requirements.txt

FROM build AS dependencies
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install -q -r /tmp/requirements.txt

FROM ${BASE}
RUN if ! command -v python3 >/dev/null; then \
        apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3 >/dev/null \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --uid 10000 --user-group --create-home --home-dir /home/decentralml \
        --shell /bin/bash decentralml
COPY --from=dependencies /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# The package last, in layers of its own, so that a change to the sources rebuilds seconds of
# work instead of copying the dependencies' environment (1.7 GB) again.
COPY pyproject.toml README.md /src/
COPY decentralml/ /src/decentralml/
RUN pip install -q --no-deps --no-build-isolation /src \
    && rm -rf /src \
    && decentralml --version
COPY assets/ /opt/decentralml/assets/
# The demo flow (docker/compose.yml runs it): `python /opt/decentralml/scripts/demo_flow.py`.
COPY scripts/demo_flow.py /opt/decentralml/scripts/demo_flow.py
# Build arguments used only here, after the layers, so that a new revision reuses them.
ARG BASE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CHAIN_SPEC_SHA256=unknown
LABEL org.opencontainers.image.title="decentralml client" \
      org.opencontainers.image.description="The decentralml CLI and Python package with the tensorflow extra, and the example assets in /opt/decentralml/assets" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE}" \
      io.decentralml.chain-spec.sha256="${CHAIN_SPEC_SHA256}"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
USER decentralml
WORKDIR /home/decentralml
HEALTHCHECK --interval=60s --timeout=20s --start-period=10s --retries=3 \
    CMD ["decentralml", "--version"]
ENTRYPOINT ["decentralml"]
CMD ["--help"]
