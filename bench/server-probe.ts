/**
 * Preloaded into the server by bench/http.ts (`--import bench/server-probe.ts`, never in production): answers the
 * bench over the IPC channel with the server process's CPU time and its event-loop delay, measured inside it
 * (perf_hooks.monitorEventLoopDelay), so neither is blurred by the load generator sharing the machine.
 *
 *   { cmd: 'reset' }  -> clears the delay histogram, then answers like 'sample'
 *   { cmd: 'sample' } -> { cpuUs: user + system CPU since start (µs), delay: { p50, p99, max } (ms) }
 *   { cmd: 'profile-start' } / { cmd: 'profile-stop', file } -> a V8 CPU profile of what ran in between, written to
 *      `file` (.cpuprofile, for Chrome DevTools or scripts/cpuprofile-summary.mjs); answers like 'sample'
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Sampling period of the delay histogram (ms): fine enough to see a 10 ms stall, cheap enough not to cause one. */
const RESOLUTION_MS = 5;

const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();

let profiler: Session | undefined;

process.on('message', async (m: { cmd?: string; file?: string }) => {
  if (m.cmd === 'reset') delay.reset();
  if (m.cmd === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  if (m.cmd === 'profile-stop' && profiler && m.file) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(m.file, JSON.stringify(profile));
    profiler.disconnect();
    profiler = undefined;
  }
  const cpu = process.cpuUsage();
  const ms = (ns: number) => ns / 1e6;
  process.send?.({
    cpuUs: cpu.user + cpu.system,
    delay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
  });
});
// The channel must not keep the server alive: it stops on SIGTERM as it always does.
process.channel?.unref();
