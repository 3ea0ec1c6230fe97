#include "tests/test_util.hpp"

#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>

#include <doctest/doctest.h>

#include "converter/dm_device.hpp"
#include "converter/process.hpp"

namespace rehost::test {

namespace fs = std::filesystem;

TempDir::TempDir()
{
  static std::atomic<int> counter{0};
  const char* base = std::getenv("REHOST_TEST_TMP");
  fs::path root = base && *base ? fs::path(base) : fs::temp_directory_path();
  m_path = root / ("rehost-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(m_path);
  fs::create_directories(m_path);
}

TempDir::~TempDir()
{
  // REHOST_KEEP_TEST_DIRS=1 keeps them for a look after a failure.
  const char* keep = std::getenv("REHOST_KEEP_TEST_DIRS");
  if (keep && std::string(keep) == "1") {
    return;
  }
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& content) const
{
  fs::path p = m_path / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

RunResult run_rehost(const std::vector<std::string>& args, int timeout_seconds)
{
  std::vector<std::string> argv = {REHOST_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = std::chrono::seconds(timeout_seconds);
  auto r = run_process(argv, options);
  RunResult out;
  if (r) {
    out.exit_code = r->exit_status;
    out.out = r->out;
    out.err = r->err;
  }
  return out;
}

bool have_tool_or_skip(const std::string& program)
{
  if (have_program(program)) {
    return true;
  }
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("CI: " << program << " is not installed; the setup script should have installed it");
  }
  MESSAGE("skipped: " << program << " is not installed");
  return false;
}

bool device_mapper_or_skip()
{
  std::string why;
  if (device_mapper_available(&why)) {
    return true;
  }
  MESSAGE("skipped: device-mapper does not work on this host (" << why << ")");
  return false;
}

std::string host_kernel()
{
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/lib/modules", ec)) {
    if (fs::exists(e.path() / "kernel/drivers/nvme/host/nvme.ko")
        && fs::exists(e.path() / "modules.dep")) {
      return e.path().filename().string();
    }
  }
  return {};
}

bool host_kernel_or_skip()
{
  if (!host_kernel().empty()) {
    return have_tool_or_skip("depmod");
  }
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("CI: no kernel with uncompressed modules under /lib/modules (scripts/setup installs one)");
  }
  MESSAGE("skipped: no kernel with uncompressed modules under /lib/modules");
  return false;
}

} // namespace rehost::test

#include "converter/digest.hpp"

namespace rehost::test {

std::string sha256_of(const std::string& path)
{
  auto digest = sha256_file(path);
  REQUIRE_MESSAGE(digest, (digest ? "" : digest.error().message));
  return *digest;
}

std::string must_run(const std::vector<std::string>& argv)
{
  ProcessOptions options;
  options.timeout = std::chrono::minutes(20);
  auto r = run_process(argv, options);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  REQUIRE_MESSAGE(r->ok(), describe_failure(argv, *r) << "\n" << r->err);
  return r->out;
}

std::string cached_image(const std::string& name)
{
  std::string out = must_run({std::string(REHOST_SOURCE_DIR) + "/images/build", name});
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

std::string make_ext4_disk(const TempDir& dir, const std::string& name, const std::string& tree,
                           int size_mib)
{
  std::string disk = (dir.path() / name).string();
  std::string part = disk + ".part";
  int part_mib = size_mib - 2;
  must_run({"mkfs.ext4", "-q", "-F", "-d", tree, part, std::to_string(part_mib) + "M"});
  must_run({"truncate", "-s", std::to_string(size_mib) + "M", disk});
  must_run({"sh", "-c",
            "printf 'label: dos\\nstart=1MiB, size=" + std::to_string(part_mib)
                + "MiB, type=83, bootable\\n' | sfdisk -q " + disk});
  must_run(
      {"dd", "if=" + part, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none"});
  std::filesystem::remove(part);
  return disk;
}

std::string single_error_line(const std::string& err)
{
  std::string found;
  int count = 0;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t end = err.find('\n', pos);
    if (end == std::string::npos) {
      end = err.size();
    }
    std::string line = err.substr(pos, end - pos);
    if (line.rfind("rehost: error:", 0) == 0) {
      found = line;
      ++count;
    }
    pos = end + 1;
  }
  return count == 1 ? found : std::string();
}

} // namespace rehost::test

namespace rehost::test {

std::string make_ext4_disk_multi(const TempDir& dir, const std::string& name,
                                 const std::vector<std::string>& trees, int part_mib)
{
  std::string disk = (dir.path() / name).string();
  int size = 2 + part_mib * static_cast<int>(trees.size());
  must_run({"truncate", "-s", std::to_string(size) + "M", disk});
  std::string layout = "label: dos\n";
  for (size_t i = 0; i < trees.size(); ++i) {
    layout += "start=" + std::to_string(1 + part_mib * static_cast<int>(i))
              + "MiB, size=" + std::to_string(part_mib) + "MiB, type=83\n";
  }
  must_run({"sh", "-c", "printf '" + layout + "' | sfdisk -q " + disk});
  for (size_t i = 0; i < trees.size(); ++i) {
    std::string part = disk + ".part";
    must_run({"mkfs.ext4", "-q", "-F", "-d", trees[i], part, std::to_string(part_mib) + "M"});
    must_run({"dd", "if=" + part, "of=" + disk, "bs=1M",
              "seek=" + std::to_string(1 + part_mib * static_cast<int>(i)), "conv=notrunc,sparse",
              "status=none"});
    std::filesystem::remove(part);
  }
  return disk;
}

std::string cpio_archive(const std::vector<std::pair<std::string, std::string>>& members,
                         const std::string& filter)
{
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  archive_write_set_format_cpio_newc(a.get());
  static const std::map<std::string, int (*)(archive*)> k_filters = {
      {"gzip", archive_write_add_filter_gzip},   {"zstd", archive_write_add_filter_zstd},
      {"xz", archive_write_add_filter_xz},       {"lz4", archive_write_add_filter_lz4},
      {"bzip2", archive_write_add_filter_bzip2}, {"lzma", archive_write_add_filter_lzma}};
  if (auto f = k_filters.find(filter); f != k_filters.end()) {
    f->second(a.get());
  }
  archive_write_set_bytes_in_last_block(a.get(), 1);
  std::string out;
  auto append = [](archive*, void* data, const void* buffer, size_t size) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), size);
    return static_cast<la_ssize_t>(size);
  };
  archive_write_open(a.get(), &out, nullptr, append, nullptr);
  for (const auto& [path, content] : members) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    bool dir = path.ends_with('/');
    bool link = !dir && content.starts_with("->");
    archive_entry_set_pathname(e.get(), (dir ? path.substr(0, path.size() - 1) : path).c_str());
    archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : link ? AE_IFLNK : AE_IFREG);
    archive_entry_set_perm(e.get(), dir ? 0755 : link ? 0777 : 0644);
    if (link) {
      archive_entry_set_symlink(e.get(), content.substr(2).c_str());
    }
    bool data = !dir && !link;
    archive_entry_set_size(e.get(), data ? static_cast<la_int64_t>(content.size()) : 0);
    archive_write_header(a.get(), e.get());
    if (data) {
      archive_write_data(a.get(), content.data(), content.size());
    }
  }
  archive_write_close(a.get());
  return out;
}

} // namespace rehost::test
