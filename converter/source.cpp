#include "converter/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "converter/process.hpp"

namespace rehost {

Source open_source(const std::string& path, DirectoryUse directories)
{
  Source source;
  std::error_code ec;
  source.path = std::filesystem::absolute(path, ec).lexically_normal().string();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    fatal(ExitCode::bad_source, "{}: {}", path, std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    if (directories == DirectoryUse::refused) {
      fatal(ExitCode::usage,
            "{}: is a directory; only `rehost inspect` accepts a directory, other commands need "
            "a disk image",
            path);
    }
    if (access(path.c_str(), R_OK | X_OK) != 0) {
      fatal(ExitCode::bad_source, "{}: {}", path, std::strerror(errno));
    }
    source.kind = SourceKind::directory;
    return source;
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    fatal(ExitCode::bad_source, "{}: not a disk image file or block device", path);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fatal(ExitCode::bad_source, "{}: {}", path, std::strerror(errno));
  }
  close(fd);
  source.file_size = static_cast<uint64_t>(st.st_size);
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    fatal(ExitCode::bad_source, "{}: the file is empty (0 bytes); it is not a disk image", path);
  }
  // -U: the replica may be open by whoever replicates it; we only read.
  std::vector<std::string> argv = {"qemu-img",        "info",     "-U", "--output=json",
                                   "--backing-chain", source.path};
  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  auto info = run_process(argv, options);
  if (!info) {
    fatal(ExitCode::internal, "cannot run qemu-img: {} (is qemu-utils installed?)",
          info.error().message);
  }
  if (!info->ok()) {
    std::string why = info->err;
    size_t nl = why.find('\n');
    why = why.substr(0, nl);
    if (why.rfind("qemu-img: ", 0) == 0) {
      why = why.substr(10);
    }
    fatal(ExitCode::bad_source, "{}: not a readable disk image: {}", path, why);
  }
  try {
    auto chain = nlohmann::json::parse(info->out);
    const auto& top = chain.is_array() ? chain.at(0) : chain;
    source.format = top.at("format").get<std::string>();
    source.virtual_size = top.at("virtual-size").get<uint64_t>();
  } catch (const std::exception&) {
    fatal(ExitCode::bad_source, "{}: qemu-img could not describe the image", path);
  }
  // A qcow2 that lost its tail (an interrupted copy) still opens; its metadata then points past
  // the end of the file, which `qemu-img check` reports as corruptions.
  if (source.format == "qcow2") {
    ProcessOptions check_options;
    check_options.timeout = std::chrono::seconds(300);
    check_options.output_limit = 1 << 20;
    auto check =
        run_process({"qemu-img", "check", "-U", "--output=json", source.path}, check_options);
    if (check && check->exit_status != 0) {
      long corruptions = 0;
      try {
        auto j = nlohmann::json::parse(check->out);
        corruptions = j.value("corruptions", 0L) + j.value("check-errors", 0L);
      } catch (const std::exception&) {
      }
      if (corruptions > 0 || check->exit_status == 1) {
        fatal(ExitCode::bad_source,
              "{}: damaged qcow2 image ({} errors in its metadata; truncated or corrupted copy?)",
              path, corruptions);
      }
    }
  }
  if (source.virtual_size < 512) {
    fatal(ExitCode::bad_source, "{}: too small to be a disk ({} bytes)", path, source.virtual_size);
  }
  return source;
}

} // namespace rehost
