/**
 * Speaks JSON-RPC to a stdio MCP server (newline-delimited messages on its stdin and stdout),
 * the way a desktop MCP client such as Claude Desktop does with the programs in its config.
 *
 *   const server = spawnStdioServer(command, args, { env });
 *   const init = await server.request('initialize', { … });
 *   server.notify('notifications/initialized');
 *   await server.close();
 *
 * @module tests/support/stdio-jsonrpc
 */

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [options]
 */
export function spawnStdioServer(command, args, { env = process.env, cwd } = {}) {
  // Its own process group, so close() also stops whatever it started.
  const child = spawn(command, args, { env, cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const received = [];
  const pending = new Map();
  let nextId = 1;
  let exited = null;

  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      stderr += `\n[non-JSON line on stdout] ${line}`;
      return;
    }
    received.push(message);
    if (message.id !== undefined && pending.has(message.id) && (message.result !== undefined || message.error !== undefined)) {
      const { resolve } = pending.get(message.id);
      pending.delete(message.id);
      resolve(message);
    }
  });
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      for (const { reject } of pending.values()) reject(new Error(`the server exited (${JSON.stringify(exited)})\n${stderr}`));
      pending.clear();
      resolve(exited);
    });
  });

  const send = (message) => child.stdin.write(`${JSON.stringify(message)}\n`);

  return {
    child,
    received,
    stderr: () => stderr,
    /**
     * Sends a request and resolves with the whole response message ({ result } or { error }).
     * @param {string} method
     * @param {object} [params]
     * @param {number} [timeout=60000]
     */
    request(method, params = {}, timeout = 60_000) {
      if (exited) return Promise.reject(new Error(`the server has exited (${JSON.stringify(exited)})\n${stderr}`));
      const id = nextId;
      nextId += 1;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer to ${method} within ${timeout} ms\nstderr:\n${stderr}`));
        }, timeout);
        pending.set(id, {
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        send({ jsonrpc: '2.0', id, method, params });
      });
    },
    notify(method, params) {
      send({ jsonrpc: '2.0', method, ...(params ? { params } : {}) });
    },
    /** Closes stdin (how a desktop client says goodbye), then stops the group if it lingers. */
    async close(graceMs = 3000) {
      if (!exited) child.stdin.end();
      const timer = setTimeout(() => {
        try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      }, graceMs);
      await exit;
      clearTimeout(timer);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ }
    },
  };
}
