// List every task of the marketplace with polkadot.js, as an application would:
// api.query.decentralml.tasks.entries(), each value turned into plain JSON.
// Prints one JSON line: seconds (the listing alone), count, and peak resident memory.
//
//   node list-tasks.mjs ws://127.0.0.1:9944 [entries|idle]
import { readFileSync } from 'node:fs';
import { ApiPromise, WsProvider } from '@polkadot/api';

function peakRssMiB() {
  try {
    const match = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // no /proc: fall back to the current resident set
  }
  return process.memoryUsage().rss / 1048576;
}

const [url, mode = 'entries'] = process.argv.slice(2);
const api = await ApiPromise.create({
  provider: new WsProvider(url),
  noInitWarn: true,
  throwOnConnect: true,
});
let count = 0;
let seconds = 0;
if (mode === 'entries') {
  const started = process.hrtime.bigint();
  const entries = await api.query.decentralml.tasks.entries();
  for (const [, value] of entries) {
    if (value.isSome) {
      value.unwrap().toJSON();
      count += 1;
    }
  }
  seconds = Number(process.hrtime.bigint() - started) / 1e9;
}
console.log(JSON.stringify({ seconds, count, peak_rss_mib: peakRssMiB() }));
await api.disconnect();
