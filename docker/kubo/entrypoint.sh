#!/bin/sh
# Start Kubo with its API on 0.0.0.0:5001, its gateway on 0.0.0.0:8080 and its swarm on
# 0.0.0.0:4001, no bootstrap peers and no automatic configuration from the internet
# (peers are joined with `ipfs swarm connect`). The repository ($IPFS_PATH) is created on
# the first start with the `test` profile; arguments go to `ipfs daemon` (e.g. --offline).
set -eu
if [ ! -f "$IPFS_PATH/config" ]; then
    ipfs init --profile test --empty-repo >/dev/null
fi
ipfs config Addresses.API /ip4/0.0.0.0/tcp/5001
ipfs config Addresses.Gateway /ip4/0.0.0.0/tcp/8080
ipfs config --json Addresses.Swarm '["/ip4/0.0.0.0/tcp/4001"]'
ipfs config --json Bootstrap '[]'
ipfs config --json AutoConf.Enabled false
exec ipfs daemon "$@"
