# Kubo (the IPFS daemon), pinned, built from source with Go in a build stage: API on
# 0.0.0.0:5001, gateway on 0.0.0.0:8080, swarm on 4001; repository in /data/ipfs.
#
#   docker build -f docker/kubo.Dockerfile -t decentralml/kubo:0.43.0 .       (with internet)
#   docker build -f docker/kubo.Dockerfile --build-arg BASE=decentralml/base:bookworm ...
#
# Kubo v0.43.0 needs Go 1.26.5+, and bookworm has 1.19: Go 1.23 comes from bookworm-backports
# and fetches the GO_TOOLCHAIN it is told to use through the Go module proxy.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
ARG GO_SUITE=bookworm-backports
ARG GO_PACKAGE=golang-1.23-go
ARG GO_TOOLCHAIN=go1.26.5
ARG KUBO_VERSION=v0.43.0
COPY docker/scripts/ /usr/local/bin/
COPY docker/extra-ca/ /tmp/extra-ca/
RUN install-extra-ca \
    && add-apt-suite "$GO_SUITE" \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t "$GO_SUITE" "$GO_PACKAGE" >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(ls -d /usr/lib/go-*/bin/go | sort -V | tail -n 1)" /usr/local/bin/go \
    && go version
ENV GOTOOLCHAIN=${GO_TOOLCHAIN} \
    GOPATH=/go \
    GOBIN=/out \
    CGO_ENABLED=0 \
    GOFLAGS="-trimpath -buildvcs=false"
WORKDIR /src
# As decentralml/devnet/kubo.py builds it: a throwaway module that requires exactly
# KUBO_VERSION (`go install pkg@version` would ask the proxy for the whole version list).
RUN go mod init decentralml.invalid/kubo-build \
    && go get "github.com/ipfs/kubo/cmd/ipfs@${KUBO_VERSION}" \
    && go install github.com/ipfs/kubo/cmd/ipfs \
    && /out/ipfs version --all

FROM ${BASE}
RUN useradd --uid 10002 --user-group --create-home --home-dir /home/ipfs \
        --shell /usr/sbin/nologin ipfs \
    && mkdir -p /data/ipfs \
    && chown ipfs:ipfs /data/ipfs
COPY --from=build /out/ipfs /usr/local/bin/ipfs
COPY docker/kubo/entrypoint.sh /usr/local/bin/kubo-entrypoint
# Build arguments used only here, after the layers, so that a new revision reuses them.
ARG BASE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CHAIN_SPEC_SHA256=unknown
ARG KUBO_VERSION=v0.43.0
LABEL org.opencontainers.image.title="decentralml kubo" \
      org.opencontainers.image.description="Kubo ${KUBO_VERSION} (IPFS) for decentralml: API on port 5001, gateway on 8080, swarm on 4001" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE}" \
      io.decentralml.chain-spec.sha256="${CHAIN_SPEC_SHA256}" \
      io.decentralml.kubo.version="${KUBO_VERSION}"
ENV IPFS_PATH=/data/ipfs IPFS_TELEMETRY=off
USER ipfs
WORKDIR /home/ipfs
EXPOSE 4001 5001 8080
# `ipfs id` against the API is a POST to /api/v0/id.
HEALTHCHECK --interval=3s --timeout=5s --start-period=30s --retries=5 \
    CMD ["ipfs", "--api=/ip4/127.0.0.1/tcp/5001", "id", "-f", "<id>\n"]
ENTRYPOINT ["kubo-entrypoint"]
CMD []
