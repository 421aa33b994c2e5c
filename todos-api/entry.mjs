// Entry module of the ToDos API worker. wrangler compiles the imported .wasm file into a
// WebAssembly.Module; `initSync` instantiates it once per isolate (running the Rust
// `#[event(start)]`, which installs the panic hook), and every request goes to the Rust
// `#[event(fetch)]` handler that worker's macro exports as `fetch(request, env, ctx)`.
import module from '../build/todos-api/todos_api_bg.wasm';
import { fetch as handleFetch, initSync } from '../build/todos-api/todos_api.js';

initSync({ module });

export default {
  fetch(request, env, ctx) {
    return handleFetch(request, env, ctx);
  },
};
