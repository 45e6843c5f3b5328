#include "server/playbook/selector.h"

#include <algorithm>
#include <optional>
#include <set>

namespace roster::deploy {
namespace {

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '/';
}

bool is_value_char(char c) { return is_key_char(c) || c == ':' || c == '@' || c == '+'; }

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  Result<std::vector<SelectorTerm>> parse() {
    std::vector<SelectorTerm> terms;
    skip_spaces();
    if (at_end()) return fail("the selector is empty; write `all` to select every node");
    while (true) {
      std::optional<SelectorTerm> term = parse_term();
      if (!term) return error_;
      terms.push_back(std::move(*term));
      skip_spaces();
      if (at_end()) break;
      if (peek() != ',') return fail("expected ',' between terms, found '" + std::string(1, peek()) + "'");
      ++position_;
      skip_spaces();
      if (at_end()) return fail("expected a term after ','");
    }
    return terms;
  }

 private:
  std::optional<SelectorTerm> parse_term() {
    SelectorTerm term;
    if (peek() == '!') {
      ++position_;
      skip_spaces();
      if (!read_key(term.key)) return std::nullopt;
      term.op = SelectorOp::not_exists;
      return term;
    }
    if (!read_key(term.key)) return std::nullopt;
    skip_spaces();
    if (at_end() || peek() == ',') {
      term.op = SelectorOp::exists;
      return term;
    }
    if (peek() == '=' || peek() == '!') {
      if (peek() == '!') {
        if (position_ + 1 >= text_.size() || text_[position_ + 1] != '=') {
          set_error("expected '!=' after key \"" + term.key + "\"");
          return std::nullopt;
        }
        term.op = SelectorOp::not_equals;
        position_ += 2;
      } else {
        term.op = SelectorOp::equals;
        position_ += (position_ + 1 < text_.size() && text_[position_ + 1] == '=') ? 2 : 1;
      }
      skip_spaces();
      std::string value;
      if (!read_value(value)) return std::nullopt;
      term.values.push_back(std::move(value));
      return term;
    }
    const size_t word_start = position_;
    std::string word;
    while (!at_end() && is_key_char(peek())) word.push_back(text_[position_++]);
    if (word == "in" || word == "notin") {
      term.op = word == "in" ? SelectorOp::in : SelectorOp::not_in;
      if (!read_value_list(term.values)) return std::nullopt;
      return term;
    }
    position_ = word_start;
    set_error("expected '=', '!=', 'in' or 'notin' after key \"" + term.key + "\", found '" +
              std::string(1, peek()) + "'");
    return std::nullopt;
  }

  bool read_value_list(std::vector<std::string>& values) {
    skip_spaces();
    if (at_end() || peek() != '(') {
      set_error("expected '(' to open the value list");
      return false;
    }
    ++position_;
    while (true) {
      skip_spaces();
      std::string value;
      if (!read_value(value)) return false;
      values.push_back(std::move(value));
      skip_spaces();
      if (at_end()) {
        set_error("the value list is not closed; expected ')'");
        return false;
      }
      if (peek() == ')') {
        ++position_;
        return true;
      }
      if (peek() != ',') {
        set_error("expected ',' or ')' in the value list, found '" + std::string(1, peek()) + "'");
        return false;
      }
      ++position_;
    }
  }

  bool read_key(std::string& key) {
    while (!at_end() && is_key_char(peek())) key.push_back(text_[position_++]);
    if (key.empty()) {
      set_error(at_end() ? "expected a tag key at the end"
                         : "expected a tag key, found '" + std::string(1, peek()) + "'");
      return false;
    }
    return true;
  }

  bool read_value(std::string& value) {
    while (!at_end() && is_value_char(peek())) value.push_back(text_[position_++]);
    if (value.empty()) {
      set_error(at_end() ? "expected a value at the end" : "expected a value, found '" + std::string(1, peek()) + "'");
      return false;
    }
    return true;
  }

  Status fail(const std::string& message) {
    set_error(message);
    return error_;
  }
  void set_error(const std::string& message) {
    error_ = Status::invalid_argument("bad selector \"" + std::string(text_) + "\" at column " +
                                      std::to_string(position_ + 1) + ": " + message);
  }

  bool at_end() const { return position_ >= text_.size(); }
  char peek() const { return text_[position_]; }
  void skip_spaces() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++position_;
  }

  std::string_view text_;
  size_t position_ = 0;
  Status error_ = Status::invalid_argument("bad selector");
};

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

Result<Selector> Selector::parse(std::string_view text) {
  std::string_view trimmed = text;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.remove_suffix(1);
  Selector selector;
  selector.text_ = std::string(trimmed);
  if (trimmed == "all") return selector;
  Result<std::vector<SelectorTerm>> terms = SelectorParser(text).parse();
  if (!terms.is_ok()) return terms.status();
  selector.terms_ = std::move(*terms);
  return selector;
}

bool Selector::matches(const Tags& tags) const {
  for (const SelectorTerm& term : terms_) {
    auto found = tags.find(term.key);
    const bool present = found != tags.end();
    switch (term.op) {
      case SelectorOp::exists:
        if (!present) return false;
        break;
      case SelectorOp::not_exists:
        if (present) return false;
        break;
      case SelectorOp::equals:
      case SelectorOp::in:
        if (!present || !contains(term.values, found->second)) return false;
        break;
      case SelectorOp::not_equals:
      case SelectorOp::not_in:
        if (present && contains(term.values, found->second)) return false;
        break;
    }
  }
  return true;
}

bool is_selectable_key(std::string_view key) {
  return !key.empty() && key.size() <= 128 && std::all_of(key.begin(), key.end(), is_key_char);
}

bool selectors_can_overlap(const Selector& a, const Selector& b) {
  struct KeyConstraint {
    bool must_exist = false;
    bool must_be_absent = false;
    std::optional<std::set<std::string>> allowed;  // nullopt: any value
    std::set<std::string> excluded;
  };
  std::map<std::string, KeyConstraint> constraints;
  for (const Selector* selector : {&a, &b}) {
    for (const SelectorTerm& term : selector->terms()) {
      KeyConstraint& constraint = constraints[term.key];
      switch (term.op) {
        case SelectorOp::exists: constraint.must_exist = true; break;
        case SelectorOp::not_exists: constraint.must_be_absent = true; break;
        case SelectorOp::equals:
        case SelectorOp::in: {
          std::set<std::string> values(term.values.begin(), term.values.end());
          if (!constraint.allowed) {
            constraint.allowed = std::move(values);
          } else {
            std::set<std::string> both;
            std::set_intersection(constraint.allowed->begin(), constraint.allowed->end(), values.begin(),
                                  values.end(), std::inserter(both, both.begin()));
            constraint.allowed = std::move(both);
          }
          constraint.must_exist = true;
          break;
        }
        case SelectorOp::not_equals:
        case SelectorOp::not_in: constraint.excluded.insert(term.values.begin(), term.values.end()); break;
      }
    }
  }
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& entry : constraints) {
    const auto& constraint = entry.second;
    if (constraint.must_be_absent && constraint.must_exist) return false;
    if (constraint.allowed) {
      const bool any_left = std::any_of(constraint.allowed->begin(), constraint.allowed->end(),
                                        [&](const std::string& value) { return !constraint.excluded.count(value); });
      if (!any_left) return false;
    }
  }
  return true;
}

}  // namespace roster::deploy
