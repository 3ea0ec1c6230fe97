#include "converter/os_identity.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

#include "converter/shell_vars.hpp"
#include "converter/text_lines.hpp"

namespace rehost {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x)
{
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string trim(const std::string& s)
{
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The first line of `text`, at most 200 characters: libstdc++'s std::regex recurses for each
// character it matches and would exhaust the stack on a hostile 64 KiB release file; every
// release string worth reading is short.
std::string short_line(const std::string& text)
{
  return text.substr(0, std::min<size_t>(text.find('\n'), 200));
}

// "12.5" -> 12, 5; "20.04" -> 20, 4; "2" -> 2, none; "bookworm/sid" -> none.
void split_version(const std::string& version, std::optional<int>& major, std::optional<int>& minor)
{
  static const std::regex k_version(R"(^\s*([0-9]+)(?:\.([0-9]+))?)");
  std::smatch m;
  const std::string head = short_line(version);
  if (std::regex_search(head, m, k_version)) {
    try {
      major = std::stoi(m[1]);
      if (m[2].matched) {
        minor = std::stoi(m[2]);
      }
    } catch (const std::exception&) {
      // Out of range: leave them unset.
    }
  }
}

const std::string* find(const std::map<std::string, std::string>& files, const std::string& path)
{
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

// A text file that is really text: no NUL bytes, and not absurdly long for a release file.
bool plausible_text(const std::string& s)
{
  return s.find('\0') == std::string::npos && s.size() < (64 << 10);
}

std::optional<OsIdentity> from_os_release(const std::string& text, const std::string& source)
{
  auto vars = parse_shell_vars(text);
  if (!vars.count("ID") && !vars.count("NAME")) {
    return std::nullopt;
  }
  OsIdentity os;
  os.source = source;
  os.id = vars.count("ID") ? vars["ID"] : "linux";
  std::transform(os.id.begin(), os.id.end(), os.id.begin(), ::tolower);
  os.id_like = whitespace_words(vars["ID_LIKE"]);
  os.version_id = vars["VERSION_ID"];
  os.name = vars["NAME"];
  os.pretty_name = vars["PRETTY_NAME"];
  os.codename = vars["VERSION_CODENAME"];
  split_version(os.version_id, os.major, os.minor);
  return os;
}

struct ReleasePattern {
  const char* file;
  const char* regex; // group 1: name, 2: major, 3: minor
  const char* id;
  const char* name;
};

// Old release files, most specific first: several distributions ship /etc/redhat-release too.
// The id is the one the distribution uses in os-release today.
const ReleasePattern k_release_patterns[] = {
    {"/etc/oracle-release", R"(Oracle Linux Server release ([0-9]+)(?:\.([0-9]+))?)", "ol",
     "Oracle Linux Server"},
    {"/etc/enterprise-release",
     R"(Enterprise Linux Enterprise Linux Server release ([0-9]+)(?:\.([0-9]+))?)", "ol",
     "Oracle Linux Server"},
    {"/etc/centos-release", R"(CentOS Stream release ([0-9]+))", "centos", "CentOS Stream"},
    {"/etc/centos-release", R"(CentOS(?: Linux)? release ([0-9]+)(?:\.([0-9]+))?)", "centos",
     "CentOS Linux"},
    {"/etc/rocky-release", R"(Rocky Linux release ([0-9]+)(?:\.([0-9]+))?)", "rocky",
     "Rocky Linux"},
    {"/etc/almalinux-release", R"(AlmaLinux release ([0-9]+)(?:\.([0-9]+))?)", "almalinux",
     "AlmaLinux"},
    {"/etc/system-release", R"(Amazon Linux AMI release ([0-9]+)\.([0-9]+))", "amzn",
     "Amazon Linux AMI"},
    {"/etc/system-release", R"(Amazon Linux (?:release )?([0-9]+))", "amzn", "Amazon Linux"},
    {"/etc/redhat-release", R"(Rocky Linux release ([0-9]+)(?:\.([0-9]+))?)", "rocky",
     "Rocky Linux"},
    {"/etc/redhat-release", R"(AlmaLinux release ([0-9]+)(?:\.([0-9]+))?)", "almalinux",
     "AlmaLinux"},
    {"/etc/redhat-release", R"(CentOS Stream release ([0-9]+))", "centos", "CentOS Stream"},
    {"/etc/redhat-release", R"(CentOS(?: Linux)? release ([0-9]+)(?:\.([0-9]+))?)", "centos",
     "CentOS Linux"},
    {"/etc/redhat-release", R"(Scientific Linux release ([0-9]+)(?:\.([0-9]+))?)", "scientific",
     "Scientific Linux"},
    {"/etc/redhat-release", R"(Fedora(?: Core)? release ([0-9]+))", "fedora", "Fedora"},
    {"/etc/redhat-release", R"(Red Hat Enterprise Linux[^0-9]*release ([0-9]+)(?:\.([0-9]+))?)",
     "rhel", "Red Hat Enterprise Linux"},
};

std::optional<OsIdentity> from_release_files(const std::map<std::string, std::string>& files)
{
  for (const auto& p : k_release_patterns) {
    const std::string* text = find(files, p.file);
    if (!text || !plausible_text(*text)) {
      continue;
    }
    std::smatch m;
    std::string content = short_line(*text);
    if (!std::regex_search(content, m, std::regex(p.regex))) {
      continue;
    }
    OsIdentity os;
    os.source = p.file;
    os.id = p.id;
    os.name = p.name;
    os.pretty_name = trim(content.substr(0, content.find('\n')));
    os.version_id = m[1].str() + (m.size() > 2 && m[2].matched ? "." + m[2].str() : "");
    // RHEL 4 and older: "release 4 (Nahant Update 9)".
    std::smatch update;
    if (!(m.size() > 2 && m[2].matched)
        && std::regex_search(content, update, std::regex(R"(\(\w+ Update ([0-9]+)\))"))) {
      os.version_id += "." + update[1].str();
    }
    split_version(os.version_id, os.major, os.minor);
    if (os.id != "fedora" && os.id != "rhel") {
      os.id_like = {"rhel", "fedora"};
    } else if (os.id == "rhel") {
      os.id_like = {"fedora"};
    }
    return os;
  }
  if (const std::string* suse = find(files, "/etc/SuSE-release"); suse && plausible_text(*suse)) {
    OsIdentity os;
    os.source = "/etc/SuSE-release";
    std::string first = trim(suse->substr(0, suse->find('\n')));
    os.pretty_name = first;
    std::string version;
    std::string patch;
    std::istringstream lines(*suse);
    std::string line;
    static const std::regex k_version(R"(^\s*VERSION\s*=\s*([0-9.]+))");
    static const std::regex k_patch(R"(^\s*PATCHLEVEL\s*=\s*([0-9]+))");
    while (std::getline(lines, line)) {
      std::smatch m;
      line = short_line(line);
      if (std::regex_search(line, m, k_version)) {
        version = m[1];
      } else if (std::regex_search(line, m, k_patch)) {
        patch = m[1];
      }
    }
    bool sap = first.find("SAP") != std::string::npos;
    bool opensuse = first.find("openSUSE") != std::string::npos;
    os.id = opensuse ? "opensuse" : sap ? "sles_sap" : "sles";
    os.name = opensuse ? "openSUSE" : sap ? "SLES_SAP" : "SLES";
    os.id_like = {"suse"};
    os.version_id = version + (patch.empty() || patch == "0" ? "" : "." + patch);
    split_version(os.version_id, os.major, os.minor);
    if (!patch.empty() && !os.minor) {
      std::optional<int> patch_major;
      split_version(patch, patch_major, os.minor);
      os.minor = patch_major;
    }
    return os;
  }
  if (const std::string* lsb = find(files, "/etc/lsb-release"); lsb && plausible_text(*lsb)) {
    auto vars = parse_shell_vars(*lsb);
    if (vars.count("DISTRIB_ID")) {
      OsIdentity os;
      os.source = "/etc/lsb-release";
      os.id = vars["DISTRIB_ID"];
      std::transform(os.id.begin(), os.id.end(), os.id.begin(), ::tolower);
      os.name = vars["DISTRIB_ID"];
      os.version_id = vars["DISTRIB_RELEASE"];
      os.codename = vars["DISTRIB_CODENAME"];
      os.pretty_name = vars["DISTRIB_DESCRIPTION"];
      if (os.id == "ubuntu") {
        os.id_like = {"debian"};
      }
      split_version(os.version_id, os.major, os.minor);
      return os;
    }
  }
  if (const std::string* deb = find(files, "/etc/debian_version"); deb && plausible_text(*deb)) {
    OsIdentity os;
    os.source = "/etc/debian_version";
    os.id = "debian";
    os.name = "Debian GNU/Linux";
    os.version_id = trim(*deb);
    split_version(os.version_id, os.major, os.minor);
    if (os.major) {
      os.version_id = std::to_string(*os.major);
    }
    os.pretty_name = "Debian GNU/Linux " + trim(*deb);
    return os;
  }
  return std::nullopt;
}

} // namespace

const std::vector<std::string>& release_files()
{
  static const std::vector<std::string> k_files = {
      "/etc/os-release",        "/usr/lib/os-release",     "/etc/debian_version",
      "/etc/lsb-release",       "/etc/redhat-release",     "/etc/centos-release",
      "/etc/oracle-release",    "/etc/enterprise-release", "/etc/rocky-release",
      "/etc/almalinux-release", "/etc/system-release",     "/etc/SuSE-release",
  };
  return k_files;
}

std::string family_of(const std::string& id, const std::vector<std::string>& id_like)
{
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (id == n || contains(id_like, n)) {
        return true;
      }
    }
    return false;
  };
  if (is({"debian", "ubuntu"})) {
    return "debian";
  }
  if (is({"rhel", "fedora", "centos", "rocky", "almalinux", "ol", "amzn"})) {
    return "rhel";
  }
  if (is({"suse", "opensuse", "sles", "sles_sap"}) || id.rfind("opensuse", 0) == 0) {
    return "suse";
  }
  if (is({"arch"})) {
    return "arch";
  }
  return id;
}

std::optional<OsIdentity> identify_os(const std::map<std::string, std::string>& files,
                                      std::vector<std::string>* warnings)
{
  auto warn = [&](std::string text) {
    if (warnings) {
      warnings->push_back(std::move(text));
    }
  };
  for (const auto& [path, text] : files) {
    if (!plausible_text(text)) {
      warn(path + " is not a text file (binary or too large); ignored");
    }
  }
  std::optional<OsIdentity> os;
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    const std::string* text = find(files, path);
    if (text && plausible_text(*text)) {
      os = from_os_release(*text, path);
      if (os) {
        break;
      }
      warn(std::string(path) + " has neither ID nor NAME; ignored");
    }
  }
  if (!os) {
    os = from_release_files(files);
  }
  if (!os) {
    return std::nullopt;
  }
  // Debian's os-release has only the major version; the point release is in debian_version.
  if (os->id == "debian") {
    if (const std::string* deb = find(files, "/etc/debian_version"); deb && plausible_text(*deb)) {
      std::optional<int> major;
      std::optional<int> minor;
      split_version(trim(*deb), major, minor);
      if (major && (!os->major || *major == *os->major)) {
        os->major = major;
        os->minor = minor;
      }
    }
  }
  // CentOS 7 and 8 say only "7" in os-release; centos-release has "7.9.2009".
  if (os->major && !os->minor && os->source != "/etc/SuSE-release"
      && (os->id == "centos" || os->id == "rhel" || os->id == "ol" || os->id == "rocky"
          || os->id == "almalinux")) {
    if (auto old = from_release_files(files); old && old->id == os->id && old->major == os->major) {
      os->minor = old->minor;
    }
  }
  os->family = family_of(os->id, os->id_like);
  return os;
}

std::string elf_arch(const std::string& header)
{
  if (header.size() < 20
      || header.compare(0, 4,
                        "\x7f"
                        "ELF")
             != 0) {
    return {};
  }
  const bool little = header[5] == 1;
  auto b = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(header[i])); };
  unsigned machine = little ? (b(18) | (b(19) << 8)) : ((b(18) << 8) | b(19));
  switch (machine) {
  case 0x3e:
    return "x86_64";
  case 0x03:
    return "i386";
  case 0xb7:
    return "aarch64";
  case 0x28:
    return "armv7l";
  case 0x15:
    return header[4] == 2 ? "ppc64le" : "ppc";
  case 0x16:
    return "s390x";
  case 0xf3:
    return "riscv64";
  default:
    return "unknown";
  }
}

} // namespace rehost
