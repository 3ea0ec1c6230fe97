// Myers' O(ND) difference algorithm on lines, then grouping into hunks with context. Guest
// configuration files are small, but the algorithm stays fast on large files that barely change.
#include "converter/diff.hpp"

#include <fmt/format.h>

#include <vector>

namespace rehost {

namespace {

std::vector<std::string> split_lines(const std::string& text)
{
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      lines.push_back(text.substr(pos)); // no final newline
      break;
    }
    lines.push_back(text.substr(pos, end - pos + 1));
    pos = end + 1;
  }
  return lines;
}

enum class Op { keep, remove, add };

// The edit script from a to b.
std::vector<Op> myers(const std::vector<std::string>& a, const std::vector<std::string>& b)
{
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  const int max = n + m;
  std::vector<int> v(2 * max + 2, 0);
  std::vector<std::vector<int>> trace;
  int found_d = -1;
  for (int d = 0; d <= max && found_d < 0; ++d) {
    trace.push_back(v);
    for (int k = -d; k <= d; k += 2) {
      int x;
      if (k == -d || (k != d && v[max + k - 1] < v[max + k + 1])) {
        x = v[max + k + 1];
      } else {
        x = v[max + k - 1] + 1;
      }
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) {
        ++x;
        ++y;
      }
      v[max + k] = x;
      if (x >= n && y >= m) {
        found_d = d;
        break;
      }
    }
  }
  trace.push_back(v);
  // Backtrack.
  std::vector<Op> ops;
  int x = n;
  int y = m;
  for (int d = found_d; d > 0; --d) {
    const auto& pv = trace[d];
    int k = x - y;
    int prev_k;
    if (k == -d || (k != d && pv[max + k - 1] < pv[max + k + 1])) {
      prev_k = k + 1;
    } else {
      prev_k = k - 1;
    }
    int prev_x = pv[max + prev_k];
    int prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      ops.push_back(Op::keep);
      --x;
      --y;
    }
    if (x == prev_x) {
      ops.push_back(Op::add);
      --y;
    } else {
      ops.push_back(Op::remove);
      --x;
    }
  }
  while (x > 0 && y > 0) {
    ops.push_back(Op::keep);
    --x;
    --y;
  }
  return {ops.rbegin(), ops.rend()};
}

void append_line(std::string& out, char prefix, const std::string& line)
{
  out += prefix;
  out += line;
  if (line.empty() || line.back() != '\n') {
    out += "\n\\ No newline at end of file\n";
  }
}

} // namespace

std::string unified_diff(const std::string& path, const std::string& before,
                         const std::string& after)
{
  if (before == after) {
    return {};
  }
  auto a = split_lines(before);
  auto b = split_lines(after);
  auto ops = myers(a, b);
  constexpr int k_context = 3;

  // Positions of each op in a and b.
  struct Step {
    Op op;
    int ai;
    int bi;
  };
  std::vector<Step> steps;
  int ai = 0;
  int bi = 0;
  for (Op op : ops) {
    steps.push_back({op, ai, bi});
    if (op != Op::add) {
      ++ai;
    }
    if (op != Op::remove) {
      ++bi;
    }
  }
  std::string out = fmt::format("--- a{}\n+++ b{}\n", path, path);
  size_t i = 0;
  while (i < steps.size()) {
    if (steps[i].op == Op::keep) {
      ++i;
      continue;
    }
    // A hunk: from k_context before this change to k_context after the last change that is
    // within 2*k_context of the previous one.
    size_t start = i >= k_context ? i - k_context : 0;
    size_t end = i;
    size_t last_change = i;
    while (end < steps.size()) {
      if (steps[end].op != Op::keep) {
        last_change = end;
      } else if (end - last_change > 2 * k_context) {
        break;
      }
      ++end;
    }
    end = std::min(steps.size(), last_change + k_context + 1);
    int a_start = steps[start].ai;
    int b_start = steps[start].bi;
    int a_len = 0;
    int b_len = 0;
    std::string body;
    for (size_t j = start; j < end; ++j) {
      const auto& s = steps[j];
      switch (s.op) {
      case Op::keep:
        append_line(body, ' ', a[s.ai]);
        ++a_len;
        ++b_len;
        break;
      case Op::remove:
        append_line(body, '-', a[s.ai]);
        ++a_len;
        break;
      case Op::add:
        append_line(body, '+', b[s.bi]);
        ++b_len;
        break;
      }
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", a_len ? a_start + 1 : a_start, a_len,
                       b_len ? b_start + 1 : b_start, b_len);
    out += body;
    i = end;
  }
  return out;
}

} // namespace rehost
