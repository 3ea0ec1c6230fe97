#include "tests/fixture_guest.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace rehost::test {

namespace fs = std::filesystem;

namespace {

// "x86_64" -> the first 64 bytes of an ELF executable for that machine.
std::string elf_header(const std::string& arch)
{
  std::string h(64, '\0');
  h.replace(0, 4,
            "\x7f"
            "ELF");
  h[4] = 2; // 64-bit
  h[5] = 1; // little-endian
  h[6] = 1;
  h[16] = 3; // ET_DYN
  unsigned machine = arch == "x86_64" ? 0x3e : arch == "aarch64" ? 0xb7 : arch == "i386" ? 0x03 : 0;
  if (arch == "i386") {
    h[4] = 1;
  }
  h[18] = static_cast<char>(machine & 0xff);
  h[19] = static_cast<char>(machine >> 8);
  return h;
}

} // namespace

Fixture build_fixture(const std::string& text, const fs::path& root)
{
  Fixture f;
  fs::create_directories(root);
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  std::optional<fs::path> file; // the file whose content lines follow
  std::string content;
  bool expecting = false;
  auto flush = [&] {
    if (file) {
      fs::create_directories(file->parent_path());
      std::ofstream(*file, std::ios::binary) << content;
    }
    file.reset();
    content.clear();
  };
  auto in_root = [&](const std::string& guest_path) {
    return root / fs::path(guest_path).relative_path();
  };
  while (std::getline(in, line)) {
    ++line_no;
    bool directive = line.size() > 1 && line[0] == '@' && line[1] != '@';
    if (!directive) {
      if (file) {
        content += (line.rfind("@@", 0) == 0 ? line.substr(1) : line) + "\n";
      } else if (expecting && !line.empty() && line[0] != '#') {
        size_t eq = line.find(" = ");
        if (eq == std::string::npos) {
          f.problems.push_back(fmt::format("line {}: expected 'key = value'", line_no));
        } else {
          f.expect.push_back({line.substr(0, eq), line.substr(eq + 3), line_no});
        }
      } else if (!line.empty() && line[0] != '#') {
        f.problems.push_back(fmt::format("line {}: text outside a file", line_no));
      }
      continue;
    }
    flush();
    // "@verb rest": the rest is a path (which may hold spaces), "PATH -> TARGET" for @link,
    // "PATH ARCH" for @elf.
    size_t space = line.find(' ');
    std::string verb = line.substr(0, space);
    std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
    if (verb == "@file") {
      file = in_root(rest);
    } else if (verb == "@empty") {
      fs::create_directories(in_root(rest).parent_path());
      std::ofstream(in_root(rest)) << "";
    } else if (verb == "@dir") {
      fs::create_directories(in_root(rest));
    } else if (verb == "@link") {
      size_t arrow = rest.find(" -> ");
      if (arrow == std::string::npos) {
        f.problems.push_back(fmt::format("line {}: expected '@link PATH -> TARGET'", line_no));
        continue;
      }
      fs::path link = in_root(rest.substr(0, arrow));
      fs::create_directories(link.parent_path());
      fs::create_symlink(rest.substr(arrow + 4), link);
    } else if (verb == "@elf") {
      size_t last = rest.rfind(' ');
      fs::path target = in_root(rest.substr(0, last));
      fs::create_directories(target.parent_path());
      std::ofstream(target, std::ios::binary) << elf_header(rest.substr(last + 1));
    } else if (verb == "@expect") {
      expecting = true;
    } else {
      f.problems.push_back(fmt::format("line {}: unknown directive {}", line_no, verb));
    }
  }
  flush();
  return f;
}

// "kernels.0.drivers.nvme" -> "/kernels/0/drivers/nvme".
static nlohmann::json::json_pointer pointer(const std::string& key)
{
  std::string p = "/" + key;
  std::replace(p.begin(), p.end(), '.', '/');
  return nlohmann::json::json_pointer(p);
}

std::vector<fs::path> linux_fixture_files()
{
  std::vector<fs::path> files;
  for (const auto& e :
       fs::directory_iterator(fs::path(REHOST_SOURCE_DIR) / "tests/fixtures/linux")) {
    if (e.path().extension() == ".guest") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_fixture(const fs::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> fixture_mismatches(const nlohmann::json& j,
                                            const std::vector<Expectation>& expect,
                                            const std::vector<std::string>& skip)
{
  std::vector<std::string> out;
  for (const auto& e : expect) {
    if (std::any_of(skip.begin(), skip.end(),
                    [&](const std::string& s) { return e.key.rfind(s, 0) == 0; })) {
      continue;
    }
    nlohmann::json want;
    try {
      want = nlohmann::json::parse(e.value);
    } catch (const std::exception&) {
      out.push_back(fmt::format("line {}: value is not JSON: {}", e.line, e.value));
      continue;
    }
    auto ptr = pointer(e.key);
    if (!j.contains(ptr)) {
      out.push_back(fmt::format("line {}: {} is not in the inspection", e.line, e.key));
    } else if (j[ptr] != want) {
      out.push_back(
          fmt::format("line {}: {} is {}, expected {}", e.line, e.key, j[ptr].dump(), want.dump()));
    }
  }
  return out;
}

} // namespace rehost::test
