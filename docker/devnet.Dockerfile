# The dev chain: Chopsticks (pinned by decentralml/devnet/data/chopsticks-package*.json) running
# the runtime of the shipped raw chain spec, in Instant block mode, RPC on 0.0.0.0:9944.
# The chain starts from genesis at every container start (its state lives in memory).
#
#   docker build -f docker/devnet.Dockerfile -t decentralml/devnet .          (with internet)
#   docker build -f docker/devnet.Dockerfile --build-arg BASE=decentralml/base:bookworm ...
#
# Chopsticks needs Node.js 20+, and bookworm has 18: nodejs comes from NODE_SUITE (trixie's
# is 20), pinned so that nothing else is taken from it unasked.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
ARG NODE_SUITE=trixie
COPY docker/scripts/ /usr/local/bin/
COPY docker/extra-ca/ /tmp/extra-ca/
RUN install-extra-ca \
    && add-apt-suite "$NODE_SUITE" \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t "$NODE_SUITE" nodejs npm libnode-dev python3 make g++ >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && node --version
# sqlite3 compiles against Debian's Node headers; no prebuilt binary is downloaded.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm_config_nodedir=/usr \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false
WORKDIR /opt/chopsticks
COPY decentralml/devnet/data/chopsticks-package.json package.json
COPY decentralml/devnet/data/chopsticks-package-lock.json package-lock.json
RUN npm ci --no-audit --no-fund --omit=dev --foreground-scripts >/tmp/npm-ci.log 2>&1 \
        || { tail -n 40 /tmp/npm-ci.log; exit 1; } \
    && node -e "require('sqlite3')" \
    && node node_modules/@acala-network/chopsticks/chopsticks.cjs --version

FROM ${BASE}
ARG NODE_SUITE=trixie
COPY docker/scripts/add-apt-suite /usr/local/bin/
RUN add-apt-suite "$NODE_SUITE" \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t "$NODE_SUITE" nodejs >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --create-home --home-dir /home/chopsticks \
        --shell /usr/sbin/nologin chopsticks
COPY --from=build /opt/chopsticks /opt/chopsticks
COPY decentralml/devnet/data/decentralml-dev.raw.json /opt/decentralml/devnet/
COPY docker/devnet/chopsticks.json docker/devnet/healthcheck.js /opt/decentralml/devnet/
# Build arguments used only here, after the layers, so that a new revision reuses them.
ARG BASE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CHAIN_SPEC_SHA256=unknown
ARG CHOPSTICKS_VERSION=unknown
LABEL org.opencontainers.image.title="decentralml devnet" \
      org.opencontainers.image.description="decentralml's dev chain: Chopsticks ${CHOPSTICKS_VERSION} with the shipped chain spec, Instant block mode, RPC on port 9944" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE}" \
      io.decentralml.chain-spec.sha256="${CHAIN_SPEC_SHA256}" \
      io.decentralml.chopsticks.version="${CHOPSTICKS_VERSION}"
ENV NO_COLOR=1 LOG_COMPACT=true
USER chopsticks
WORKDIR /home/chopsticks
EXPOSE 9944
HEALTHCHECK --interval=3s --timeout=5s --start-period=60s --retries=5 \
    CMD ["node", "/opt/decentralml/devnet/healthcheck.js"]
ENTRYPOINT ["node", "--no-warnings", "/opt/chopsticks/node_modules/@acala-network/chopsticks/chopsticks.cjs"]
CMD ["-c", "/opt/decentralml/devnet/chopsticks.json"]
