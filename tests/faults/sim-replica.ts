// A simulated model server (bench/src/sim/server.ts) as its own process, for the fault suite
// to SIGKILL: `node --import tsx tests/faults/sim-replica.ts PORT MODEL`.
import { H100_LLAMA_8B } from '../../bench/src/sim/profiles.js';
import { SimulatedReplica } from '../../bench/src/sim/server.js';

const [port, model] = process.argv.slice(2);
const sim = new SimulatedReplica({
  profile: H100_LLAMA_8B,
  model: model ?? 'llama',
  policy: 'fcfs',
  timeScale: 20,
  flushMs: 10,
  startupMs: 0,
});
await sim.start(Number(port ?? 0));
process.stdout.write(`${JSON.stringify({ msg: 'model server ready', port: sim.port })}\n`);
