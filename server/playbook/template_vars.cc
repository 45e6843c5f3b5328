#include "server/playbook/template_vars.h"

namespace roster::deploy {
namespace {

std::string trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t' || text[begin] == '\n' || text[begin] == '\r'))
    ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n' ||
                         text[end - 1] == '\r'))
    --end;
  return std::string(text.substr(begin, end - begin));
}

int count_lines(std::string_view text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

}  // namespace

TemplateScan scan_template(const std::string& text, int first_line) {
  TemplateScan scan;
  std::string open = "{{";
  std::string close = "}}";
  std::vector<std::pair<std::string, int>> sections;  // name, line opened
  size_t position = 0;
  int line = first_line;
  while (true) {
    const size_t start = text.find(open, position);
    if (start == std::string::npos) break;
    line += count_lines(std::string_view(text).substr(position, start - position));
    size_t body_start = start + open.size();
    const bool triple = open == "{{" && body_start < text.size() && text[body_start] == '{';
    std::string closing = triple ? "}" + close : close;
    const size_t end = text.find(closing, body_start);
    if (end == std::string::npos) {
      scan.errors.emplace_back(line, "a tag opened with \"" + open + "\" is never closed with \"" + closing + "\"");
      return scan;
    }
    std::string body = trim(std::string_view(text).substr(body_start, end - body_start));
    const int tag_line = line;
    line += count_lines(std::string_view(text).substr(start, end - start));
    position = end + closing.size();
    if (triple) body = trim(body.substr(1));
    char sigil = body.empty() ? '\0' : body.front();
    if (sigil == '!') continue;
    if (sigil == '=') {
      // {{=<% %>=}}: new delimiters separated by whitespace.
      if (body.size() < 2 || body.back() != '=') {
        scan.errors.emplace_back(tag_line, "bad delimiter change \"" + body + "\"");
        return scan;
      }
      std::string inner = trim(std::string_view(body).substr(1, body.size() - 2));
      const size_t space = inner.find_first_of(" \t");
      if (space == std::string::npos) {
        scan.errors.emplace_back(tag_line, "bad delimiter change \"" + body + "\"");
        return scan;
      }
      open = inner.substr(0, space);
      close = trim(std::string_view(inner).substr(space));
      continue;
    }
    if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '&' || sigil == '>') body = trim(body.substr(1));
    if (body.empty()) {
      scan.errors.emplace_back(tag_line, "empty tag");
      continue;
    }
    if (sigil == '>') continue;  // partials are not supported, but name no variable
    if (sigil == '/') {
      if (sections.empty() || sections.back().first != body) {
        scan.errors.emplace_back(tag_line, sections.empty() ? "section \"" + body + "\" closed but never opened"
                                                            : "section \"" + sections.back().first +
                                                                  "\" (line " + std::to_string(sections.back().second) +
                                                                  ") is closed by \"" + body + "\"");
        if (!sections.empty()) sections.pop_back();
      } else {
        sections.pop_back();
      }
      continue;
    }
    TemplateReference reference{body, {}, tag_line};
    for (const auto& [name, opened] : sections) reference.sections.push_back(name);
    scan.references.push_back(std::move(reference));
    if (sigil == '#' || sigil == '^') sections.emplace_back(body, tag_line);
  }
  for (const auto& [name, opened] : sections)
    scan.errors.emplace_back(opened, "section \"" + name + "\" is never closed");
  return scan;
}

}  // namespace roster::deploy
