// Entry module of the ToDos API worker. wrangler compiles the imported .wasm file into a
// WebAssembly.Module; `initSync` instantiates it once per isolate (running the Rust start
// function, which installs the panic hook), and every request goes to the Rust `fetch` export
// (`todos-api/src/runtime/mod.rs`) with the worker's `env`.
import module from '../build/todos-api/todos_api_bg.wasm';
import { fetch as handleFetch, initSync } from '../build/todos-api/todos_api.js';

initSync({ module });

export default {
  fetch(request, env) {
    return handleFetch(request, env);
  },
};
