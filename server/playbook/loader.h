#pragma once

// Reads Ansible-shaped playbooks (docs/PLAYBOOKS.md) into plain data.
// yaml-cpp stays inside loader.cc. Never throws: every problem becomes a
// PlaybookError naming the file and the line, and loading goes on so that one
// run reports every error.

#include <string>
#include <vector>

#include "server/playbook/playbook.h"

namespace roster::deploy {

// The module names a task may use, in documentation order.
const std::vector<std::string>& known_modules();

// Paths a task manages on the node: `file.path`, `copy.dest`, `template.dest`,
// `lineinfile.path`. Empty for other modules.
struct ManagedPath {
  std::string path;
  bool whole_file = true;  // false for lineinfile, which shares a file politely
};
std::vector<ManagedPath> managed_paths(const Task& task);

// Parses one file's text: either a list of plays (as Ansible) or a single
// play. Appends problems to `errors`; returns the plays that parsed well
// enough to check further.
std::vector<Playbook> parse_playbook_text(const std::string& text, const std::string& file,
                                          std::vector<PlaybookError>& errors);

struct PlaybookSet {
  std::vector<Playbook> playbooks;
  std::vector<std::string> files;  // the files read, sorted
};

// Every `*.yaml` and `*.yml` directly inside `directory`, sorted by name.
PlaybookSet load_playbook_directory(const std::string& directory, std::vector<PlaybookError>& errors);

}  // namespace roster::deploy
