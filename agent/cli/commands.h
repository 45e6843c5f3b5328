#pragma once

// The CLI's subcommands. Each takes its arguments without the command name
// (`roster kv get foo` -> run_kv({"get", "foo"}, io)) and returns the exit
// code: 0 on success, 1 on a usage or API error, reported on io.err.

#include <string>
#include <vector>

#include "agent/cli/command.h"

namespace roster::cli {

// GET /v1/agent/members.
int run_members(const std::vector<std::string>& args, const CommandIo& io);

// nodes: GET /v1/catalog/nodes[?node-meta=k:v...]; services: GET /v1/catalog/services.
int run_catalog(const std::vector<std::string>& args, const CommandIo& io);

// get/put/delete on /v1/kv/<key>.
int run_kv(const std::vector<std::string>& args, const CommandIo& io);

// show: GET, set/rm: PUT /v1/roster/node/<node>/tags (the operator tag layer).
int run_tag(const std::vector<std::string>& args, const CommandIo& io);

// status: GET /v1/roster/deploy/nodes[/<node>] as a table; watch: follows a
// run by blocking queries on /v1/roster/deploy/runs and /v1/roster/deploy/nodes,
// exiting 0 when it finishes, 2 when it finished with failed nodes, 1 on an
// error or the -timeout (deploy_command.cc).
int run_deploy(const std::vector<std::string>& args, const CommandIo& io);

// GET /v1/agent/self.
int run_info(const std::vector<std::string>& args, const CommandIo& io);

// The gossip pool (gossip_commands.cc).
// PUT /v1/agent/join/<addr> for each address.
int run_join(const std::vector<std::string>& args, const CommandIo& io);
// PUT /v1/agent/leave.
int run_leave(const std::vector<std::string>& args, const CommandIo& io);
// PUT /v1/agent/force-leave/<node>.
int run_force_leave(const std::vector<std::string>& args, const CommandIo& io);
// Local: prints a new base64 AES-256 key.
int run_keygen(const std::vector<std::string>& args, const CommandIo& io);
// /v1/operator/keyring: GET (-list), POST (-install), PUT (-use), DELETE (-remove).
int run_keyring(const std::vector<std::string>& args, const CommandIo& io);

// operator raft list-peers (GET /v1/operator/raft/configuration), remove-peer
// (DELETE /v1/operator/raft/peer), transfer-leader (POST .../transfer-leader).
int run_operator(const std::vector<std::string>& args, const CommandIo& io);
// snapshot save (GET /v1/snapshot), restore (PUT /v1/snapshot), inspect (the file only).
int run_snapshot(const std::vector<std::string>& args, const CommandIo& io);

// User events (event_commands.cc).
// PUT /v1/event/fire/<name>[?node=&service=&tag=] with the payload as body.
int run_event(const std::vector<std::string>& args, const CommandIo& io);
// Blocking GET /v1/event/list, printing each new event until SIGINT (-type event only).
int run_watch(const std::vector<std::string>& args, const CommandIo& io);

}  // namespace roster::cli
