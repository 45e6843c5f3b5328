// Starts and stops a real `roster agent` process for the Node.js client suite: the
// counterpart of ../roster_process.py, with Node's standard library only.
//
//   const agent = new RosterAgent(findBinary(), { node: "node-client-test" });
//   await agent.start();   // -http-port 0, reads the bound port from the log, waits for a leader
//   await agent.stop();    // SIGTERM, then SIGKILL after a deadline
//
// The agent binds its HTTP API and gossip to port 0, so the kernel hands out free
// loopback ports and two suites never race for one; the port comes from the agent's
// "HTTP API on http://127.0.0.1:PORT" log line.

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// Returns the roster binary named by $ROSTER_BIN; throws with a clear message otherwise.
export function findBinary() {
  const binary = process.env.ROSTER_BIN || "";
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    throw new Error(`roster binary not found: set ROSTER_BIN to the built roster (got ${JSON.stringify(binary)})`);
  }
  return binary;
}

// Calls predicate until it returns something truthy and returns that value. Throws
// naming `what` after `timeoutMs`; the last error the predicate threw is in the message.
export async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 50, what }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

// One HTTP request to 127.0.0.1:port, bypassing any proxy. Resolves to
// { status, headers, body } for every status; only transport errors reject.
export function rawRequest(port, method, requestPath, { body, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, method, path: requestPath, timeout: timeoutMs, agent: false },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() }));
        response.on("error", reject);
      });
    request.on("timeout", () => request.destroy(new Error(`${method} ${requestPath}: no answer in ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}

export class RosterAgent {
  constructor(binary, { node = "roster-node-test", logLevel = "debug", extraArgs = [] } = {}) {
    this.binary = binary;
    this.node = node;
    this.logLevel = logLevel;
    this.extraArgs = extraArgs;
    this.port = null;
    this.child = null;
    this.exit = null;
    this.logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `roster-${node}-`)), "agent.log");
  }

  command() {
    return ["agent", "-dev", "-node", this.node, "-http-port", "0", "-serf-lan-port", "0", "-server-port", "0",
            "-log-level", this.logLevel, ...this.extraArgs];
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  running() {
    return this.child !== null && this.exit === null;
  }

  // Starts the agent and resolves once its HTTP API names a leader. With
  // ROSTER_TARGET=cluster the agent is the client agent of a three-server
  // cluster, which ../run_cluster.py starts and stops.
  async start({ timeoutMs = 30000 } = {}) {
    if (process.env.ROSTER_TARGET === "cluster") return this.startCluster({ timeoutMs: Math.max(timeoutMs, 120000) });
    const logFd = fs.openSync(this.logPath, "a");
    fs.writeSync(logFd, `==== start: ${this.binary} ${this.command().join(" ")} ====\n`);
    this.child = spawn(this.binary, this.command(), { stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });

    try {
      this.port = await waitFor(() => {
        if (this.exit) throw new Error(`agent exited (${JSON.stringify(this.exit)})`);
        const match = /HTTP API on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.log());
        return match && Number(match[1]);
      }, { timeoutMs, what: `agent ${this.node} to log its HTTP address` });
      await waitFor(async () => {
        if (this.exit) throw new Error(`agent exited (${JSON.stringify(this.exit)})`);
        const { status, body } = await rawRequest(this.port, "GET", "/v1/status/leader", { timeoutMs: 2000 });
        return status === 200 && JSON.parse(body) !== "";
      }, { timeoutMs, what: `agent ${this.node} to report a leader` });
    } catch (error) {
      await this.stop();
      error.message += `\n---- agent log (${this.logPath}) ----\n${this.log()}`;
      throw error;
    }
    return this;
  }

  async startCluster({ timeoutMs }) {
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "run_cluster.py");
    this.child = spawn("/usr/bin/python3", [script, "--client-name", this.node, "--log", this.logPath],
                       { stdio: ["pipe", "pipe", "inherit"] });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    let output = "";
    this.child.stdout.on("data", (chunk) => { output += chunk.toString(); });
    try {
      this.port = await waitFor(() => {
        if (this.exit) throw new Error(`the cluster runner exited (${JSON.stringify(this.exit)})`);
        const match = /HTTP_PORT (\d+)/.exec(output);
        return match && Number(match[1]);
      }, { timeoutMs, what: "the cluster to start" });
    } catch (error) {
      await this.stop();
      error.message += `\n---- agent logs (${this.logPath}) ----\n${this.log()}`;
      throw error;
    }
    return this;
  }

  // SIGTERM, then SIGKILL if the agent is still running after `timeoutMs`.
  // Resolves to the exit { code, signal }.
  async stop({ timeoutMs = 15000 } = {}) {
    if (!this.child) return null;
    if (this.exit) return this.exit;
    if (process.env.ROSTER_TARGET === "cluster") {
      this.child.stdin.end();  // the runner stops the cluster and exits
      return this.exited;
    }
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => {
      fs.appendFileSync(this.logPath, "\n==== harness: no exit after SIGTERM; sending SIGKILL ====\n");
      this.child.kill("SIGKILL");
    }, timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  removeLog() {
    fs.rmSync(path.dirname(this.logPath), { recursive: true, force: true });
  }
}
