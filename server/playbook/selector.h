#pragma once

// Tag selectors: the `hosts:` line of a playbook and its tasks' `when:`.
//
//   selector := term ( ',' term )*          every term must hold (AND)
//   term     := key '=' value | key '==' value | key '!=' value
//             | key 'in' '(' value ( ',' value )* ')'
//             | key 'notin' '(' value ( ',' value )* ')'
//             | key                          the key is present
//             | '!' key                      the key is absent
//
// The single word `all` selects every node. `!=` and `notin` also hold when the
// key is absent (as Kubernetes label selectors). Keys use letters, digits and
// `_ - . /`; values may also hold `: @ +` but no spaces, commas or parentheses.
// Pure: no I/O, no state beyond the parsed terms.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace roster::deploy {

using Tags = std::map<std::string, std::string>;

enum class SelectorOp { equals, not_equals, in, not_in, exists, not_exists };

struct SelectorTerm {
  std::string key;
  SelectorOp op = SelectorOp::exists;
  std::vector<std::string> values;  // one for equals/not_equals, one or more for in/not_in
  bool operator==(const SelectorTerm&) const = default;
};

class Selector {
 public:
  // Matches every node (`all`).
  Selector() = default;

  // Parses `text`. A malformed selector returns invalid_argument whose message
  // names the 1-based column and what was expected there.
  static Result<Selector> parse(std::string_view text);

  bool matches(const Tags& tags) const;
  bool matches_all() const { return terms_.empty(); }
  const std::vector<SelectorTerm>& terms() const { return terms_; }
  const std::string& text() const { return text_; }

 private:
  std::vector<SelectorTerm> terms_;
  std::string text_ = "all";
};

// True for a key a selector can name: 1-128 of letters, digits, `_ - . /`
// (the agent's tag key rule).
bool is_selectable_key(std::string_view key);

// True when some set of tags is matched by both selectors. Exact: terms
// constrain keys independently, so the two are checked key by key.
bool selectors_can_overlap(const Selector& a, const Selector& b);

}  // namespace roster::deploy
