"""The local dev network: Chopsticks (the chain) and Kubo (IPFS) on 127.0.0.1."""
