#pragma once

// Column-aligned text tables for the CLI's default output, like Consul's
// columnize: a header row, then one row per item, columns separated by two
// spaces, no trailing blanks.

#include <ostream>
#include <string>
#include <vector>

namespace roster::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // REQUIRES: cells.size() == number of headers.
  void add_row(std::vector<std::string> cells);

  bool empty() const { return rows_.empty(); }

  // Writes the header and the rows. Widths count UTF-8 code points, so
  // non-ASCII node names and tags stay aligned.
  void render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Renders rows without a header (for plain lists such as `catalog services`).
void render_columns(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace roster::cli
