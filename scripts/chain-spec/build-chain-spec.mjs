// Write the raw chain spec of a runtime from its wasm, without a node.
//
//   node build-chain-spec.mjs --wasm runtime.wasm [--code code.wasm] --out spec.json \
//       --id decentralml_dev --name "decentralml Development" --preset development \
//       --properties '{"ss58Format":42,"tokenDecimals":12,"tokenSymbol":"DML"}' \
//       [--para-id 1000 --relay-chain dev]
//
// Runs the runtime's GenesisBuilder API in Chopsticks' wasm executor: the default config
// (`get_preset(None)`) deep-merged with the named preset, then `build_state`; the storage it
// writes, plus `:code`, is the genesis state. `--wasm` is what the genesis calls run on;
// `--code` (default: the same file) is what goes into `:code`, e.g. its compressed form.
// `--para-id` and `--relay-chain` add the two fields a parachain node (polkadot-omni-node)
// needs in the spec; the para id must be the one the genesis preset gives ParachainInfo.

import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { destroyWorker, getRuntimeVersion, runTask } from '@acala-network/chopsticks-core'

const CODE_KEY = '0x3a636f6465' // ":code"
const CHILD_PREFIX = '0x3a6368696c645f73746f726167653a' // ":child_storage:"

function fail(message) {
  process.stderr.write(`build-chain-spec: ${message}\n`)
  process.exit(1)
}

function toHex(bytes) {
  return '0x' + Buffer.from(bytes).toString('hex')
}

function fromHex(hex) {
  return Buffer.from(hex.startsWith('0x') ? hex.slice(2) : hex, 'hex')
}

// SCALE compact encoding of a length.
function compact(n) {
  if (n < 1 << 6) return Buffer.from([n << 2])
  if (n < 1 << 14) {
    const b = Buffer.alloc(2)
    b.writeUInt16LE((n << 2) | 1)
    return b
  }
  if (n < 1 << 30) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(((n << 2) | 2) >>> 0)
    return b
  }
  fail(`length ${n} too large to encode`)
}

function decodeCompact(buf, offset) {
  const mode = buf[offset] & 3
  if (mode === 0) return [buf[offset] >> 2, offset + 1]
  if (mode === 1) return [buf.readUInt16LE(offset) >> 2, offset + 2]
  if (mode === 2) return [buf.readUInt32LE(offset) >>> 2, offset + 4]
  fail('big compact length in a runtime answer')
}

function encodeBytes(bytes) {
  return Buffer.concat([compact(bytes.length), Buffer.from(bytes)])
}

function encodeOptionPreset(name) {
  return name === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), encodeBytes(Buffer.from(name))])
}

function decodeOptionBytes(hex) {
  const buf = fromHex(hex)
  if (buf[0] === 0) return null
  if (buf[0] !== 1) fail(`unexpected Option tag ${buf[0]}`)
  const [len, start] = decodeCompact(buf, 1)
  return buf.subarray(start, start + len)
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

// The merge sc-chain-spec applies to a preset: objects merge key by key, the rest is replaced.
function deepMerge(base, patch) {
  if (!isObject(base) || !isObject(patch)) return patch
  const out = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    out[key] = key in base ? deepMerge(base[key], value) : value
  }
  return out
}

// Reads during build_state come from the executor's own overlay; the state starts empty.
const emptyState = {
  getStorage: async () => undefined,
  getNextKey: async () => undefined,
  offchainGetStorage: async () => undefined,
  offchainTimestamp: async () => Date.now(),
  offchainRandomSeed: async () => toHex(Buffer.alloc(32)),
  offchainSubmitTransaction: async () => false,
}

async function call(wasm, method, arg) {
  const response = await runTask(
    { wasm, calls: [[method, [toHex(arg)]]], mockSignatureHost: false, allowUnresolvedImports: false, runtimeLogLevel: 0 },
    emptyState,
  )
  if ('Error' in response) fail(`${method} failed in the runtime: ${response.Error}`)
  return response.Call
}

async function getPreset(wasm, name) {
  const { result } = await call(wasm, 'GenesisBuilder_get_preset', encodeOptionPreset(name))
  const bytes = decodeOptionBytes(result)
  if (bytes === null) fail(`the runtime has no genesis preset ${name === null ? '(default)' : JSON.stringify(name)}`)
  return JSON.parse(bytes.toString('utf8'))
}

async function main() {
  const { values } = parseArgs({
    options: {
      wasm: { type: 'string' },
      code: { type: 'string' },
      out: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      preset: { type: 'string', default: 'development' },
      properties: { type: 'string', default: '{}' },
      'para-id': { type: 'string' },
      'relay-chain': { type: 'string' },
    },
  })
  for (const required of ['wasm', 'out', 'id', 'name']) {
    if (!values[required]) fail(`--${required} is required`)
  }
  const wasm = toHex(readFileSync(values.wasm))
  const code = values.code ? toHex(readFileSync(values.code)) : wasm

  const version = await getRuntimeVersion(wasm)
  const defaults = await getPreset(wasm, null)
  const preset = await getPreset(wasm, values.preset)
  const config = deepMerge(defaults, preset)

  const built = await call(wasm, 'GenesisBuilder_build_state', encodeBytes(Buffer.from(JSON.stringify(config))))
  const status = fromHex(built.result)
  if (status[0] !== 0) {
    const [len, start] = decodeCompact(status, 1)
    fail(`build_state refused the config: ${status.subarray(start, start + len).toString('utf8')}`)
  }

  const top = {}
  for (const [key, value] of built.storageDiff) {
    if (key.startsWith(CHILD_PREFIX)) fail(`genesis writes child storage (${key}), which the dev chain cannot load`)
    if (value !== null) top[key] = value
  }
  top[CODE_KEY] = code
  const sorted = Object.fromEntries(Object.keys(top).sort().map((key) => [key, top[key]]))

  const spec = {
    name: values.name,
    id: values.id,
    chainType: 'Development',
    bootNodes: [],
    telemetryEndpoints: null,
    protocolId: null,
    properties: JSON.parse(values.properties),
    codeSubstitutes: {},
    genesis: { raw: { top: sorted, childrenDefault: {} } },
  }
  if (values['para-id'] !== undefined || values['relay-chain'] !== undefined) {
    const paraId = Number(values['para-id'])
    if (!Number.isInteger(paraId) || paraId < 0 || !values['relay-chain']) {
      fail('--para-id (an integer) and --relay-chain go together')
    }
    spec.relay_chain = values['relay-chain']
    spec.para_id = paraId
  }
  writeFileSync(values.out, JSON.stringify(spec, null, 2) + '\n')
  process.stderr.write(
    `build-chain-spec: ${version.specName} v${version.specVersion}, preset ${values.preset}, ` +
      `${Object.keys(sorted).length} genesis keys -> ${values.out}\n`,
  )
  process.stdout.write(JSON.stringify({ specName: version.specName, specVersion: version.specVersion, keys: Object.keys(sorted).length }) + '\n')
  await destroyWorker()
}

main().catch((error) => fail(error?.stack ?? String(error)))
