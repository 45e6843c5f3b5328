#pragma once

// The checks `roster-deploy validate DIR` runs on top of loading
// (docs/PLAYBOOKS.md, "What validate checks"): templates exist, every
// `{{ variable }}` and `when: vars.X` is defined, and no two tasks manage the
// same path on one node. Every problem is reported, not just the first.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/playbook/loader.h"

namespace roster::deploy {

// True for names a template or argument may use: a playbook var, node.name,
// node.address, node.tags.KEY, facts.{hostname,os_release,cpus,memory_mb}.
bool is_known_variable(const std::string& name, const std::map<std::string, std::string>& vars);

struct TemplateFile {
  std::string path;  // as printed in errors
  std::string text;
};

// Reads a template by its `src:`; nullopt when it does not exist.
using TemplateReader = std::function<std::optional<TemplateFile>(const std::string& src)>;

// Checks loaded playbooks. Pure apart from `read_template`.
void check_playbooks(const std::vector<Playbook>& playbooks, const TemplateReader& read_template,
                     std::vector<PlaybookError>& errors);

// Loads `directory` and checks it; templates come from `directory/templates/`.
// Empty means valid.
std::vector<PlaybookError> validate_playbook_directory(const std::string& directory);

}  // namespace roster::deploy
