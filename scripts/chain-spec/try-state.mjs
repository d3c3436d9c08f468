// Run every pallet's try-state checks on a snapshot of a chain's state, without a node.
//
//   node try-state.mjs --state state.json --runtime runtime-try.wasm
//
// `state.json` is `{"block": "0x..", "top": {"0xkey": "0xvalue", ...}}`, the whole top storage
// of one block (scripts/try-state fetches it). The runtime, built with `try-runtime`, replaces
// `:code`, then `TryRuntime_on_runtime_upgrade(All)` runs in Chopsticks' wasm executor: the
// runtime's pending storage migrations run with their pre- and post-upgrade checks (a chain at
// an older storage version is migrated in memory), then every storage item of every pallet
// must decode and every `try_state` hook must pass. The storage is served from memory, in key
// order, with the migration's writes kept in an overlay, so the chain itself is never written.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { destroyWorker, runTask } from '@acala-network/chopsticks-core'

const CODE_KEY = '0x3a636f6465' // ":code"
// `UpgradeCheckSelect::All`: pre- and post-upgrade checks of the migrations, then the try_state
// hooks (the decode check comes with any check).
const ALL_CHECKS = '0x01'

function fail(message) {
  process.stderr.write(`try-state: ${message}\n`)
  process.exit(1)
}

function toHex(bytes) {
  return '0x' + Buffer.from(bytes).toString('hex')
}

async function main() {
  const { values } = parseArgs({
    options: {
      state: { type: 'string' },
      runtime: { type: 'string' },
      'log-level': { type: 'string', default: '3' },
    },
  })
  if (!values.state || !values.runtime) fail('--state and --runtime are required')
  const snapshot = JSON.parse(readFileSync(values.state, 'utf8'))
  const wasm = toHex(readFileSync(values.runtime))
  const top = new Map(Object.entries(snapshot.top))
  top.set(CODE_KEY, wasm)
  const keys = [...top.keys()].sort()

  // The smallest key after `key` that starts with `prefix` (any key when the prefix is empty).
  const nextKey = (prefix, key) => {
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (keys[mid] <= key) lo = mid + 1
      else hi = mid
    }
    const found = keys[lo]
    return found !== undefined && found.startsWith(prefix) ? found : undefined
  }
  const state = {
    getStorage: async (key) => top.get(key),
    getNextKey: async (prefix, key) => nextKey(prefix, key),
    offchainGetStorage: async () => undefined,
    offchainTimestamp: async () => Date.now(),
    offchainRandomSeed: async () => toHex(Buffer.alloc(32)),
    offchainSubmitTransaction: async () => false,
  }

  const response = await runTask(
    {
      wasm,
      calls: [['TryRuntime_on_runtime_upgrade', [ALL_CHECKS]]],
      mockSignatureHost: false,
      allowUnresolvedImports: false,
      runtimeLogLevel: Number(values['log-level']),
    },
    state,
  )
  await destroyWorker()
  // The executor has already printed the runtime's log lines (the failing check among them).
  if ('Error' in response) {
    fail(`a check failed at block ${snapshot.block}: ${response.Error}`)
  }
  process.stderr.write(
    `try-state: every storage item decodes and every pallet's try_state passes at block ${snapshot.block} ` +
      `(${keys.length} keys)\n`,
  )
}

main().catch((error) => fail(error?.stack ?? String(error)))
