// roster-deploy: the deployment server. It will watch the catalog and push
// playbook bundles to agents (DESIGN.md, "The deployment flow"); today it
// validates playbooks.

#include <iostream>
#include <string>
#include <vector>

#include "server/playbook/validate.h"

namespace {

void print_usage(std::ostream& out) {
  out << "Usage: roster-deploy <command> [args]\n\n"
         "roster-deploy watches the Roster catalog and, when a node appears or its tags change,\n"
         "pushes the tasks of the matching playbooks to that node's agent.\n\n"
         "Commands:\n"
         "    validate DIR    Checks the playbooks in DIR (and DIR/templates/) and reports every\n"
         "                    error as file:line: message. Exits 0 when all are valid, 1 otherwise.\n\n"
         "Watching the catalog and pushing bundles are not implemented in this release: they\n"
         "arrive with the deployment issue. The playbook format is described in docs/PLAYBOOKS.md.\n";
}

bool is_help(const std::string& arg) { return arg == "-help" || arg == "--help" || arg == "-h" || arg == "help"; }

int run_validate(const std::vector<std::string>& args) {
  if (args.size() == 1 && is_help(args.front())) {
    std::cout << "Usage: roster-deploy validate DIR\n\n"
                 "Loads every *.yaml and *.yml playbook directly in DIR and checks it: unknown modules and\n"
                 "fields, bad tag selectors, missing templates (DIR/templates/), undefined variables, and\n"
                 "two tasks that manage the same path on one node. Each error is printed as\n"
                 "file:line: message. Exits 0 when every playbook is valid, 1 otherwise.\n";
    return 0;
  }
  if (args.size() != 1) {
    std::cerr << "Usage: roster-deploy validate DIR\n";
    return 2;
  }
  const std::vector<roster::deploy::PlaybookError> errors = roster::deploy::validate_playbook_directory(args.front());
  for (const auto& error : errors) std::cerr << error.to_string() << "\n";
  if (!errors.empty()) {
    std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << " in " << args.front() << "\n";
    return 1;
  }
  std::cout << "Playbooks in " << args.front() << " are valid.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && is_help(args.front())) {
    print_usage(std::cout);
    return 0;
  }
  if (!args.empty() && args.front() == "validate") return run_validate({args.begin() + 1, args.end()});
  if (!args.empty()) std::cerr << "roster-deploy: unknown command \"" << args.front() << "\"\n\n";
  print_usage(std::cerr);
  return 2;
}
