import module from '../build/mcp-worker/mcp_worker_bg.wasm';
import { initSync, fetch as rustFetch } from '../build/mcp-worker/mcp_worker.js';
initSync({ module });
export default { fetch: (request, env, ctx) => rustFetch(request, env, ctx) };
