// roster-deploy: the deployment server. It will watch the catalog and push
// playbook bundles to agents (DESIGN.md, "The deployment flow"); until that
// lands it only explains itself.

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  std::string first = argc > 1 ? argv[1] : "";
  std::ostream& out = (first == "-help" || first == "--help" || first == "-h") ? std::cout : std::cerr;
  out << "Usage: roster-deploy [options]\n\n"
         "roster-deploy watches the Roster catalog and, when a node appears or its tags change,\n"
         "pushes the tasks of the matching playbooks to that node's agent.\n\n"
         "Not implemented in this release: deployments arrive with the deployment issue.\n";
  return 2;
}
