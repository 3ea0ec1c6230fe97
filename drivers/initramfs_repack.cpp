#include "drivers/initramfs_repack.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include "bootloader/device_names.hpp"
#include "converter/host_file.hpp"
#include "converter/process.hpp"
#include "drivers/initramfs_reader.hpp"
#include "drivers/linux_modules.hpp"

namespace fs = std::filesystem;

namespace rehost::drivers {

namespace {

using ReadArchive = std::unique_ptr<archive, decltype(&archive_read_free)>;
using WriteArchive = std::unique_ptr<archive, decltype(&archive_write_free)>;
using Entry = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// The files depmod writes; the image's own copies are replaced by the host's new ones.
const std::set<std::string>& index_files()
{
  static const std::set<std::string> names = {
      "modules.dep",         "modules.dep.bin",     "modules.alias",
      "modules.alias.bin",   "modules.softdep",     "modules.symbols",
      "modules.symbols.bin", "modules.builtin.bin", "modules.builtin.alias.bin",
      "modules.devname",     "modules.weakdep"};
  return names;
}

// A workspace directory removed with everything in it.
struct TempTree {
  std::string path;
  TempTree()
  {
    std::string t = "/tmp/rehost-repack-XXXXXX";
    if (mkdtemp(t.data())) {
      path = t;
    }
  }
  ~TempTree()
  {
    if (!path.empty()) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

// modules.dep by module name.
std::map<std::string, ModuleDep> parse_dep(const std::string& text)
{
  std::map<std::string, ModuleDep> out;
  for (auto& entry : parse_modules_dep(text)) {
    std::string name = module_name(entry.path);
    out[name] = std::move(entry);
  }
  return out;
}

int filter_code(const std::string& compression)
{
  if (compression == "gzip") {
    return ARCHIVE_FILTER_GZIP;
  }
  if (compression == "zstd") {
    return ARCHIVE_FILTER_ZSTD;
  }
  return ARCHIVE_FILTER_NONE;
}

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length)
{
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// libarchive's message, which may be missing.
std::string why(archive* a)
{
  const char* text = archive_error_string(a);
  return text ? text : "unknown error";
}

// A path the image or the guest's modules.dep names, safe to join under a host directory: no
// "..", no empty component, not absolute. Guests are untrusted.
bool safe_relative(const std::string& path)
{
  if (path.empty() || path.front() == '/') {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

Entry new_entry(const std::string& path, mode_t type, mode_t perm, size_t size)
{
  Entry e(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), path.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), perm);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.get(), time(nullptr), 0);
  archive_entry_set_nlink(e.get(), type == AE_IFDIR ? 2 : 1);
  return e;
}

} // namespace

bool can_repack(const std::string& segment)
{
  return segment == "cpio" || segment == "cpio+gzip" || segment == "cpio+zstd";
}

Result<RepackResult> repack_initramfs(const std::string& image, const RepackInput& input)
{
  auto listing = list_initramfs(image);
  if (!listing) {
    return std::unexpected(listing.error());
  }
  return repack_initramfs(image, *listing, input);
}

Result<RepackResult> repack_initramfs(const std::string& image, const InitramfsListing& listing,
                                      const RepackInput& input)
{
  if (listing.segments.empty()) {
    return fail("it holds no archive");
  }
  const std::string last = listing.segments.back();
  if (!can_repack(last)) {
    return fail("its main archive is {}, which rehost does not write (gzip, zstd or none only)",
                last);
  }
  RepackResult result;
  result.compression = last == "cpio" ? "none" : last.substr(5);
  const size_t main_at = listing.offsets.back();

  // Where the image keeps this kernel's modules.
  std::string base;
  for (const auto& f : listing.files) {
    for (const char* prefix : {"usr/lib/modules/", "lib/modules/"}) {
      std::string dir = prefix + input.version;
      if (f == dir || f.rfind(dir + "/", 0) == 0) {
        base = dir;
      }
    }
    if (!base.empty()) {
      break;
    }
  }
  if (base.empty()) {
    return fail("it holds no modules of kernel {}", input.version);
  }
  // The main archive holds the module tree; earlier segments are microcode and firmware.
  TempTree work;
  if (work.path.empty()) {
    return fail("cannot create a work directory in /tmp: {}", std::strerror(errno));
  }
  // The module tree goes to ROOT/lib/modules/VERSION whatever the image's layout: where
  // `depmod -b ROOT` reads it.
  const std::string tree = work.path + "/root/lib/modules/" + input.version;

  auto open_main = [&]() -> Result<ReadArchive> {
    ReadArchive a(archive_read_new(), archive_read_free);
    archive_read_support_filter_all(a.get());
    archive_read_support_format_cpio(a.get());
    if (archive_read_open_memory(a.get(), image.data() + main_at, image.size() - main_at)
        != ARCHIVE_OK) {
      return fail("cannot read its main archive: {}", why(a.get()));
    }
    return a;
  };

  // Pass 1: the modules and depmod's inputs go to the work tree; note what the image has.
  std::set<std::string> present;      // every path
  std::set<std::string> module_paths; // relative to base
  std::string load_list_content;
  bool has_load_list = false;
  size_t entries = 0;
  {
    auto a = open_main();
    if (!a) {
      return std::unexpected(a.error());
    }
    archive_entry* entry = nullptr;
    int r;
    while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
      std::string path = image_path(archive_entry_pathname(entry));
      if (!path.empty() && path != ".") {
        ++entries;
      }
      present.insert(path);
      bool regular = archive_entry_filetype(entry) == AE_IFREG;
      bool in_tree = path.rfind(base + "/", 0) == 0;
      bool want = regular
                  && ((in_tree && !index_files().count(path.substr(base.size() + 1)))
                      || (!input.load_list.empty() && path == input.load_list));
      bool names_devices =
          regular && !input.remove.count(path)
          && std::any_of(input.device_files.begin(), input.device_files.end(),
                         [&](const std::string& f) {
                           return f == path || (f.ends_with('/') && path.starts_with(f));
                         });
      if (!want && !names_devices) {
        continue;
      }
      std::string content(static_cast<size_t>(std::max<la_int64_t>(0, archive_entry_size(entry))),
                          '\0');
      if (!content.empty()
          && archive_read_data(a->get(), content.data(), content.size())
                 != static_cast<la_ssize_t>(content.size())) {
        return fail("cannot read {} from it: {}", path, why(a->get()));
      }
      if (names_devices) {
        auto it = input.replace.find(path);
        auto old =
            bootloader::hardware_device_names(it == input.replace.end() ? content : it->second);
        if (!old.empty()) {
          return fail("{} names {}, a device of the old hardware that the target does not have",
                      path, old.front());
        }
        if (!want) {
          continue;
        }
      }
      if (path == input.load_list) {
        load_list_content = std::move(content);
        has_load_list = true;
        continue;
      }
      std::string rel = path.substr(base.size() + 1);
      if (!safe_relative(rel)) {
        return fail("it holds a module path that leaves the module directory: {}", path);
      }
      if (rel.find(".ko") != std::string::npos) {
        module_paths.insert(rel);
      }
      if (auto w = write_host_file(tree + "/" + rel, content); !w) {
        return std::unexpected(w.error());
      }
    }
    if (r != ARCHIVE_EOF) {
      return fail("damaged main archive: {}", why(a->get()));
    }
  }
  // libarchive stops at the first trailer; the kernel reads on. Rewriting only the first of
  // several archives would drop the rest.
  if (entries != listing.files.size() - listing.first_file.back()) {
    return fail("its main segment holds more than one cpio archive");
  }
  // depmod's inputs the image lacks come from the kernel's tree.
  for (const char* name : {"modules.order", "modules.builtin", "modules.builtin.modinfo"}) {
    if (!fs::exists(tree + "/" + name)) {
      if (auto bytes = input.read_module(name)) {
        if (auto w = write_host_file(tree + "/" + name, *bytes); !w) {
          return std::unexpected(w.error());
        }
      }
    }
  }

  // The drivers and their dependencies that the image lacks, from the kernel's tree.
  auto deps = parse_dep(input.modules_dep);
  std::set<std::string> have_names;
  for (const auto& p : module_paths) {
    have_names.insert(module_name(p));
  }
  std::vector<std::pair<std::string, std::string>> new_files; // image path -> content
  std::set<std::string> adding;
  std::function<Result<void>(const std::string&)> add =
      [&](const std::string& name) -> Result<void> {
    if (have_names.count(name) || adding.count(name)) {
      return {};
    }
    auto it = deps.find(name);
    if (it == deps.end()) {
      return {}; // built in, or not in this kernel: nothing to add
    }
    if (!safe_relative(it->second.path)) {
      return fail("the kernel's modules.dep names a path outside its tree: {}", it->second.path);
    }
    adding.insert(name);
    for (const auto& d : it->second.deps) {
      if (auto r = add(module_name(d)); !r) {
        return r;
      }
    }
    auto bytes = input.read_module(it->second.path);
    if (!bytes) {
      return fail("cannot read {} of kernel {}: {}", it->second.path, input.version,
                  bytes.error().message);
    }
    if (auto w = write_host_file(tree + "/" + it->second.path, *bytes); !w) {
      return std::unexpected(w.error());
    }
    new_files.emplace_back(base + "/" + it->second.path, std::move(*bytes));
    result.added.push_back(name);
    return {};
  };
  for (const auto& d : input.drivers) {
    if (auto r = add(module_name(d)); !r) {
      return std::unexpected(r.error());
    }
  }

  // The boot-time load list gets the drivers it does not name yet.
  std::map<std::string, std::string> replace = input.replace;
  if (!input.load_list.empty()) {
    std::set<std::string> listed;
    std::istringstream lines(load_list_content);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string first;
      if (words >> first && first[0] != '#') {
        listed.insert(module_name(first));
      }
    }
    std::string content = load_list_content;
    if (!content.empty() && content.back() != '\n') {
      content += '\n';
    }
    for (const auto& d : input.drivers) {
      std::string name = module_name(d);
      if (!listed.count(name) && (deps.count(name) || have_names.count(name))) {
        content += d + "\n";
        listed.insert(name);
        result.loaded.push_back(d);
      }
    }
    if (!result.loaded.empty() || !has_load_list) {
      replace[input.load_list] = content;
    }
  }

  // The indexes, for the modules the image now holds.
  ProcessOptions options;
  options.timeout = std::chrono::seconds(120);
  auto depmod = run_process({"depmod", "-b", work.path + "/root", input.version}, options);
  if (!depmod || !depmod->ok()) {
    return fail("the host's depmod failed: {}", depmod ? depmod->err : depmod.error().message);
  }
  for (const auto& name : index_files()) {
    std::string file = tree + "/" + name;
    std::error_code ec;
    if (fs::exists(file, ec)) {
      auto content = read_host_file(file);
      if (!content) {
        return std::unexpected(content.error());
      }
      replace[base + "/" + name] = std::move(*content);
    }
  }

  // A host depmod that cannot read these modules (a compression its kmod lacks) still exits 0,
  // with dependencies missing: each added module must depend on what the kernel says.
  {
    auto fresh = parse_dep(replace[base + "/modules.dep"]);
    for (const auto& name : result.added) {
      std::set<std::string> want;
      std::set<std::string> got;
      for (const auto& d : deps[name].deps) {
        want.insert(module_name(d));
      }
      for (const auto& d : fresh[name].deps) {
        got.insert(module_name(d));
      }
      if (want != got) {
        return fail("the host's depmod did not find the dependencies of {} (its kmod may not "
                    "read these modules)",
                    name);
      }
    }
  }

  // Pass 2: the image again, with the changes.
  std::string out = image.substr(0, main_at);
  WriteArchive w(archive_write_new(), archive_write_free);
  archive_write_set_format_cpio_newc(w.get());
  if (result.compression != "none"
      && archive_write_add_filter(w.get(), filter_code(result.compression)) != ARCHIVE_OK) {
    return fail("cannot write {} here: {}", result.compression, why(w.get()));
  }
  // No block padding: the kernel needs none, and this archive ends the image.
  archive_write_set_bytes_per_block(w.get(), 0);
  if (archive_write_open(w.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
    return fail("cannot write the new archive: {}", why(w.get()));
  }
  auto write_entry = [&](archive_entry* e, const std::string& content) -> Result<void> {
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    if (archive_write_header(w.get(), e) != ARCHIVE_OK
        || (!content.empty()
            && archive_write_data(w.get(), content.data(), content.size())
                   != static_cast<la_ssize_t>(content.size()))) {
      return fail("cannot write {} into the new archive: {}", archive_entry_pathname(e),
                  why(w.get()));
    }
    return {};
  };
  std::set<std::string> written;
  {
    auto a = open_main();
    if (!a) {
      return std::unexpected(a.error());
    }
    archive_entry* entry = nullptr;
    int r;
    std::string content;
    while ((r = archive_read_next_header(a->get(), &entry)) == ARCHIVE_OK) {
      std::string path = image_path(archive_entry_pathname(entry));
      if (input.remove.count(path)) {
        continue;
      }
      if (auto it = replace.find(path);
          it != replace.end() && archive_entry_filetype(entry) == AE_IFREG) {
        if (auto ok = write_entry(entry, it->second); !ok) {
          return std::unexpected(ok.error());
        }
        written.insert(path);
        continue;
      }
      if (archive_entry_filetype(entry) == AE_IFREG && path.rfind(base + "/", 0) == 0
          && index_files().count(path.substr(base.size() + 1))) {
        continue; // an index depmod did not write again (modules.weakdep of a newer kmod)
      }
      if (archive_entry_filetype(entry) != AE_IFREG) {
        // Directories, devices, links: all in the header (a link's target too).
        if (archive_write_header(w.get(), entry) != ARCHIVE_OK) {
          return fail("cannot write {} into the new archive: {}", path, why(w.get()));
        }
        continue;
      }
      content.assign(static_cast<size_t>(std::max<la_int64_t>(0, archive_entry_size(entry))), '\0');
      if (!content.empty()
          && archive_read_data(a->get(), content.data(), content.size())
                 != static_cast<la_ssize_t>(content.size())) {
        return fail("cannot read {} from it: {}", path, why(a->get()));
      }
      if (auto ok = write_entry(entry, content); !ok) {
        return std::unexpected(ok.error());
      }
    }
    if (r != ARCHIVE_EOF) {
      return fail("damaged main archive: {}", why(a->get()));
    }
  }
  // New files, after the directories they need.
  for (const auto& [path, content] : replace) {
    if (!written.count(path)) {
      new_files.emplace_back(path, content);
    }
  }
  for (const auto& [path, content] : new_files) {
    std::vector<std::string> parents;
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) {
      parents.push_back(p.string());
    }
    std::reverse(parents.begin(), parents.end());
    for (const auto& dir : parents) {
      if (present.insert(dir).second) {
        auto e = new_entry(dir, AE_IFDIR, 0755, 0);
        if (archive_write_header(w.get(), e.get()) != ARCHIVE_OK) {
          return fail("cannot write {} into the new archive: {}", dir, why(w.get()));
        }
      }
    }
    auto e = new_entry(path, AE_IFREG, 0644, content.size());
    if (auto ok = write_entry(e.get(), content); !ok) {
      return std::unexpected(ok.error());
    }
    present.insert(path);
  }
  if (archive_write_close(w.get()) != ARCHIVE_OK) {
    return fail("cannot finish the new archive: {}", why(w.get()));
  }
  result.image = std::move(out);
  return result;
}

} // namespace rehost::drivers
