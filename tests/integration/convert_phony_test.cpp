// Conversions of a runnable phony Debian guest through the native backend: the guest's own
// (stub) tools run in the sandbox, their effects are validated, and interruptions at every pass
// leave nothing behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/native_disk.hpp"
#include "converter/process.hpp"
#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

bool native_or_skip()
{
  std::string why;
  if (rehost::NativeDisk::available(&why)) {
    return true;
  }
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL("CI: the native backend is not available: " << why);
  }
  MESSAGE("skipped: the native backend is not available: " << why);
  return false;
}

// Processes (other than us) whose command line mentions `text`.
std::vector<std::string> processes_mentioning(const std::string& text)
{
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos
        || pid == std::to_string(getpid())) {
      continue;
    }
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) {
      found.push_back(pid + ": " + cmdline);
    }
  }
  return found;
}

// Loop devices the native backend left behind: backed by a file in the work directory of a
// rehost process that no longer runs (/tmp/rehost-native-PID-XXXXXX). Conversions of other
// tests running at the same time hold loop devices too, under their own live PIDs.
std::vector<std::string> leaked_native_loops()
{
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    std::ifstream in(e.path() / "loop/backing_file");
    std::string backing;
    if (!std::getline(in, backing)) {
      continue;
    }
    const std::string marker = "/rehost-native-";
    size_t at = backing.find(marker);
    if (at == std::string::npos) {
      continue;
    }
    std::string pid = backing.substr(at + marker.size());
    pid = pid.substr(0, pid.find('-'));
    if (pid.empty() || !fs::exists("/proc/" + pid)) {
      found.push_back(e.path().filename().string() + " -> " + backing);
    }
  }
  return found;
}

struct Interrupted {
  int status = 0;
  bool saw_pass = false;
  std::string err;
};

// Runs rehost, sends `sig` when the progress line for `pass` appears, waits for the end.
Interrupted run_and_signal(const std::vector<std::string>& args, const std::string& pass, int sig)
{
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    close(pipe_fds[0]);
    std::vector<char*> argv = {const_cast<char*>(REHOST_BINARY)};
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    execv(REHOST_BINARY, argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  Interrupted result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    result.err.append(buffer, static_cast<size_t>(n));
    if (!result.saw_pass && result.err.find("] " + pass) != std::string::npos) {
      result.saw_pass = true;
      kill(pid, sig);
    }
  }
  close(pipe_fds[0]);
  waitpid(pid, &result.status, 0);
  return result;
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("a runnable phony Debian converts natively, running its own tools in the sandbox")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    std::string source = make_ext4_disk(dir, "phony.img", tree);
    std::string before = sha256_of(source);
    std::string output = dir.str() + "/out.qcow2";
    std::string report = dir.str() + "/report.json";
    auto r = run_rehost({"--backend", "native", "convert", source, "--target", "aws-nitro", "-o",
                         output, "--report", report});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(read_file(report));
    CHECK(j["backend"] == "native");
    CHECK(j["appliance_launches"] == 0);
    CHECK(j["validation"]["passed"] == true);
    std::vector<std::string> commands;
    for (const auto& a : j["actions"]) {
      for (const auto& c : a["commands"]) {
        std::string argv;
        for (const auto& w : c["argv"]) {
          argv += (argv.empty() ? "" : " ") + w.get<std::string>();
        }
        commands.push_back(argv);
      }
    }
    CHECK(commands
          == std::vector<std::string>{"dpkg --purge open-vm-tools",
                                      "update-initramfs -u -k 6.1.0-13-amd64", "update-grub"});
    // The validation read the new initramfs: it holds the NVMe driver and its dependency.
    bool listed = false;
    for (const auto& a : j["actions"]) {
      if (a["type"] == "verify_initramfs") {
        auto modules = a["details"]["modules"];
        listed = std::find(modules.begin(), modules.end(), "nvme") != modules.end()
                 && std::find(modules.begin(), modules.end(), "nvme_core") != modules.end();
      }
    }
    CHECK(listed);
    CHECK(sha256_of(source) == before);
    CHECK(processes_mentioning(dir.str()).empty());
    CHECK(leaked_native_loops().empty());
  }

  TEST_CASE("a rule's install_packages, template, set_key_value and firstboot run natively")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    dir.write("root/etc/agent.conf", "# agent\nRegion=old\n");
    dir.write("root/usr/lib/systemd/systemd", "");
    std::string source = make_ext4_disk(dir, "phony.img", tree);
    dir.write("packages/tools/agent_1.0_all.deb", "package bytes\n");
    dir.write("rules/extras.yaml", R"(id: extras
description: cloud tools for the phony Debian
match:
  family: [debian]
actions:
  - type: install_packages
    dir: tools
    packages: ["agent_*.deb"]
    command: [sh, -c, 'cat "$0" > /etc/agent-installed', "${packages}"]
  - type: template
    path: /etc/rehost-target
    content: "${target.name} ${os.id}\n"
  - type: set_key_value
    path: /etc/agent.conf
    set: {Region: "${target.name}"}
  - type: firstboot
    name: hello
    content: "echo hello\n"
)");
    std::string output = dir.str() + "/out.qcow2";
    std::string report = dir.str() + "/report.json";
    auto r = run_rehost({"--backend", "native", "--rules-dir", dir.str() + "/rules", "convert",
                         source, "--target", "kvm", "-o", output, "--report", report,
                         "--packages-dir", dir.str() + "/packages"});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(read_file(report));
    std::map<std::string, nlohmann::json> by_type;
    for (const auto& a : j["actions"]) {
      by_type[a["type"].get<std::string>()] = a;
    }
    // The guest's own shell read the copy: the sandbox sees where the package was put.
    auto install = by_type["install_packages"];
    REQUIRE(install["commands"].size() == 1);
    CHECK(install["commands"][0]["argv"].back() == "/var/cache/rehost-packages/agent_1.0_all.deb");
    CHECK(install["commands"][0]["exit_status"] == 0);
    CHECK(install["summary"].get<std::string>().find("installed agent_1.0_all.deb") == 0);
    CHECK(by_type["template"]["changes"][0]["diff"].get<std::string>().find("+kvm debian")
          != std::string::npos);
    CHECK(by_type["set_key_value"]["changes"][0]["diff"].get<std::string>().find("+Region=kvm")
          != std::string::npos);
    std::vector<std::string> written;
    for (const auto& c : by_type["firstboot"]["changes"]) {
      written.push_back(c["path"]);
    }
    CHECK(written
          == std::vector<std::string>{
              "/etc/systemd/system/rehost-firstboot.service",
              "/etc/systemd/system/multi-user.target.wants/rehost-firstboot.service",
              "/usr/lib/rehost/rehost-firstboot", "/usr/lib/rehost/firstboot/50-hello.sh"});
  }

  TEST_CASE("interrupted at any pass, a conversion leaves nothing behind and the next succeeds")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    dir.write("root/etc/stub-sleep", "1\n");
    std::string source = make_ext4_disk(dir, "phony.img", tree);
    std::string before = sha256_of(source);
    std::string output = dir.str() + "/out.qcow2";
    std::vector<std::string> args = {"--backend", "native", "convert", source,
                                     "--target",  "kvm",    "-o",      output};
    for (const char* pass : {"Opening the source", "Inspecting the guest", "Removing open-vm-tools",
                             "Rebuilding initramfs", "Running update-grub", "Validating"}) {
      for (int sig : {SIGINT, SIGTERM, SIGKILL}) {
        CAPTURE(pass);
        CAPTURE(sig);
        auto r = run_and_signal(args, pass, sig);
        INFO("stderr:\n" << r.err);
        CHECK(r.saw_pass);
        if (sig == SIGKILL) {
          CHECK(WIFSIGNALED(r.status));
        } else {
          REQUIRE(WIFEXITED(r.status));
          CHECK(WEXITSTATUS(r.status) == 130);
          CHECK(single_error_line(r.err).find("interrupted") != std::string::npos);
        }
        CHECK_FALSE(fs::exists(output));
        if (sig != SIGKILL) {
          for (const auto& e : fs::directory_iterator(dir.path())) {
            CHECK(e.path().filename().string().find("rehost-partial") == std::string::npos);
          }
        }
        // Helpers die with rehost; loop devices detach when its mount namespace goes.
        std::vector<std::string> procs;
        std::vector<std::string> loops;
        for (int wait = 0; wait < 50; ++wait) {
          procs = processes_mentioning(dir.str());
          loops = leaked_native_loops();
          if (procs.empty() && loops.empty()) {
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        CHECK_MESSAGE(procs.empty(), procs.front());
        CHECK_MESSAGE(loops.empty(), loops.front());
        CHECK(sha256_of(source) == before);
      }
    }
    // A run to the end succeeds and clears what killed runs left.
    auto ok = run_rehost(args);
    INFO("stderr:\n" << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(fs::exists(output));
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK(e.path().filename().string().find("rehost-partial") == std::string::npos);
    }
    CHECK(sha256_of(source) == before);
  }
}

TEST_SUITE("integration")
{
  TEST_CASE("a rule author adds a distribution with a rule file, without C++")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    // A distribution rehost has never heard of.
    dir.write("root/etc/os-release", "NAME=\"Acme Linux\"\nID=acmelinux\nVERSION_ID=\"3.1\"\n"
                                     "PRETTY_NAME=\"Acme Linux 3.1\"\n");
    fs::remove(dir.path() / "root/etc/debian_version");
    std::string source = make_ext4_disk(dir, "acme.img", tree);
    std::string before = sha256_of(source);

    auto refused = run_rehost({"plan", source, "--target", "kvm"});
    CHECK(refused.exit_code == 4);
    CHECK(single_error_line(refused.err).find("no rule handles acmelinux 3.1")
          != std::string::npos);

    // What rules/README.md says to write.
    dir.write("my-rules/acmelinux.yaml", R"(id: acmelinux
description: Acme Linux 3 with grub2 and initramfs-tools
match:
  id: [acmelinux]
  version_min: "3"
actions:
  - type: fstab_to_uuid
    path: /etc/fstab
  - type: kernel_args
    path: /etc/default/grub
    variables: [GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT]
  - type: initramfs_modules
    path: /etc/initramfs-tools/modules
  - type: rebuild_initramfs
    command: [update-initramfs, -u, -k, "${kernel.version}"]
)");
    auto lint = run_rehost({"rules", "lint", dir.str() + "/my-rules"});
    CHECK(lint.exit_code == 0);
    auto explain = run_rehost(
        {"--rules-dir", dir.str() + "/my-rules", "rules", "explain", source, "--target", "kvm"});
    INFO("explain:\n" << explain.out << explain.err);
    CHECK(explain.out.find("matches   acmelinux") != std::string::npos);
    CHECK(
        explain.out.find("no match  debian-family: os family is 'acmelinux', the rule wants debian")
        != std::string::npos);

    auto plan =
        run_rehost({"--rules-dir", dir.str() + "/my-rules", "plan", source, "--target", "kvm"});
    INFO("plan:\n" << plan.out << plan.err);
    REQUIRE(plan.exit_code == 0);
    CHECK(plan.out.find("-/dev/sda1 / ext4 errors=remount-ro 0 1\n+UUID=") != std::string::npos);
    CHECK(plan.out.find("+GRUB_CMDLINE_LINUX=\"console=ttyS0\"") != std::string::npos);
    CHECK(plan.out.find("+virtio_blk\n") != std::string::npos);
    CHECK(plan.out.find("runs: update-initramfs -u -k 6.1.0-13-amd64") != std::string::npos);
    auto json = run_rehost(
        {"--rules-dir", dir.str() + "/my-rules", "plan", "--json", source, "--target", "kvm"});
    REQUIRE(json.exit_code == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j["rules"] == nlohmann::json::array({"acmelinux"}));
    CHECK(j["actions"][0]["changes"][0]["path"] == "/etc/fstab");
    // Nothing was written, nothing was made.
    CHECK(sha256_of(source) == before);
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK(e.path().extension() != ".qcow2");
    }
  }

  TEST_CASE("several sources convert in parallel into one directory; a bad one fails alone")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    std::string web = make_ext4_disk(dir, "web.img", tree);
    std::string db = make_ext4_disk(dir, "db.img", tree);
    dir.write("junk.img", std::string(1 << 20, 'x'));
    std::string junk = dir.str() + "/junk.img";
    fs::create_directory(dir.path() / "out");
    std::string out = dir.str() + "/out";
    std::string web_before = sha256_of(web);

    auto usage = run_rehost({"convert", web, db, "--target", "kvm", "-o", out, "--report", "x"});
    CHECK(usage.exit_code == 2);
    CHECK(single_error_line(usage.err).find("--report cannot be used with several sources")
          != std::string::npos);

    auto r = run_rehost({"--backend", "native", "convert", web, db, junk, "--target", "kvm", "-o",
                         out, "--parallel", "2"});
    INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
    // The junk source's exit code (unreadable source) is the batch's.
    CHECK(r.exit_code == 3);
    CHECK(r.out.find("Converted 2 of 3 sources for kvm:") != std::string::npos);
    CHECK(r.err.find("Converting 3 sources for kvm, 2 at a time") != std::string::npos);
    for (const char* name : {"web", "db"}) {
      INFO(name);
      CHECK(fs::exists(fmt::format("{}/{}.qcow2", out, name)));
      auto j = nlohmann::json::parse(read_file(fmt::format("{}/{}.json", out, name)));
      CHECK(j["validation"]["passed"] == true);
      CHECK(j["target"] == "kvm");
    }
    CHECK(!fs::exists(out + "/junk.qcow2"));
    CHECK(read_file(out + "/junk.log").find("rehost: error:") != std::string::npos);
    CHECK(r.out.find("FAILED") != std::string::npos);
    CHECK(sha256_of(web) == web_before);
    CHECK(leaked_native_loops().empty());
  }
}

TEST_SUITE("integration")
{
  TEST_CASE("two conversions of one source at once: two outputs succeed, one output refuses")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    // The guest's stub tools take a second each, so the first run holds its output a while.
    dir.write("root/etc/stub-sleep", "1\n");
    std::string source = make_ext4_disk(dir, "phony.img", tree);
    std::string before = sha256_of(source);
    auto convert = [&](const std::string& output) {
      return run_rehost(
          {"--backend", "native", "convert", source, "--target", "kvm", "-o", output});
    };

    SUBCASE("to two outputs: both are complete and valid")
    {
      auto a = std::async(std::launch::async, convert, dir.str() + "/a.qcow2");
      auto b = std::async(std::launch::async, convert, dir.str() + "/b.qcow2");
      auto ra = a.get();
      auto rb = b.get();
      INFO("a:\n" << ra.err << "\nb:\n" << rb.err);
      CHECK(ra.exit_code == 0);
      CHECK(rb.exit_code == 0);
      for (const char* name : {"a.qcow2", "b.qcow2"}) {
        auto v = run_rehost(
            {"--backend", "native", "validate", dir.str() + "/" + name, "--target", "kvm"});
        INFO(name << ": " << v.err);
        CHECK(v.exit_code == 0);
      }
    }
    SUBCASE("to one output: the second is refused while the first writes, and the first wins")
    {
      std::string output = dir.str() + "/out.qcow2";
      auto a = std::async(std::launch::async, convert, output);
      std::string lock = dir.str() + "/.out.qcow2.rehost-lock";
      for (int i = 0; i < 600 && !fs::exists(lock); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      REQUIRE(fs::exists(lock));
      auto rb = convert(output);
      auto ra = a.get();
      INFO("a:\n" << ra.err << "\nb:\n" << rb.err);
      CHECK(ra.exit_code == 0);
      CHECK(rb.exit_code == 8);
      CHECK(single_error_line(rb.err).find("another rehost is writing this output now")
            != std::string::npos);
      auto v = run_rehost({"--backend", "native", "validate", output, "--target", "kvm"});
      CHECK(v.exit_code == 0);
    }
    CHECK(sha256_of(source) == before);
  }
}

namespace {

// A raw MBR disk holding the partition images `parts` (whole MiB each) in order, from 1 MiB on.
// The partition images are removed.
std::string mbr_disk(const TempDir& dir, const std::string& name,
                     const std::vector<std::string>& parts)
{
  std::string disk = dir.str() + "/" + name;
  std::string layout = "label: dos\\n";
  std::vector<uintmax_t> mib;
  uintmax_t total = 2;
  for (const auto& p : parts) {
    mib.push_back(fs::file_size(p) >> 20);
    layout += fmt::format("start={}MiB, size={}MiB, type=83\\n", total - 1, mib.back());
    total += mib.back();
  }
  must_run({"truncate", "-s", std::to_string(total) + "M", disk});
  must_run({"sh", "-c", "printf '" + layout + "' | sfdisk -q " + disk});
  uintmax_t at = 1;
  for (size_t i = 0; i < parts.size(); ++i) {
    must_run({"dd", "if=" + parts[i], "of=" + disk, "bs=1M", "seek=" + std::to_string(at),
              "conv=notrunc,sparse", "status=none"});
    at += mib[i];
    fs::remove(parts[i]);
  }
  return disk;
}

// A LUKS2 volume of `mib` MiB whose key is not given to rehost (cheap key derivation).
std::string luks_volume(const TempDir& dir, const std::string& name, int mib)
{
  std::string file = dir.str() + "/" + name;
  must_run({"truncate", "-s", std::to_string(mib) + "M", file});
  must_run({"sh", "-c",
            "printf secret | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 "
            "--pbkdf-force-iterations 1000 --key-file=- "
                + file});
  return file;
}

// A raw disk (MBR, one ext4 partition) whose file system needs journal replay, as a replica
// copied from a running server is: the tree is put in place, then /etc/debian_version is
// replaced on a mounted copy (data=journal, so the new content and its directory entry are only
// in the journal), and the partition is copied while still mounted. Checks that the copy
// really holds the old content outside the journal.
std::string make_disk_needing_replay(const TempDir& dir, const std::string& tree,
                                     const std::string& new_version)
{
  std::string part = dir.str() + "/part.img";
  std::string copy = dir.str() + "/part-copy.img";
  std::string mnt = dir.str() + "/mnt";
  fs::create_directories(mnt);
  must_run({"mkfs.ext4", "-q", "-F", "-d", tree, part, "62M"});
  must_run({"mount", "-o", "loop,data=journal,commit=1", part, mnt});
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)rehost::run_process({"umount", dir}); }
  } unmount{mnt};
  {
    std::ofstream out(mnt + "/etc/debian_version.new");
    out << new_version << "\n";
  }
  fs::rename(mnt + "/etc/debian_version.new", mnt + "/etc/debian_version");
  // jbd2 commits within a second; the home blocks are written back only much later.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  must_run({"cp", "--sparse=always", part, copy});
  must_run({"umount", mnt});
  std::string features = must_run({"dumpe2fs", "-h", copy});
  REQUIRE_MESSAGE(features.find("needs_recovery") != std::string::npos,
                  "the copied file system does not need recovery");
  std::string unreplayed = must_run({"debugfs", "-R", "cat /etc/debian_version", copy});
  REQUIRE_MESSAGE(unreplayed.find(new_version) == std::string::npos,
                  "the kernel wrote the new content home before the copy: " << unreplayed);
  fs::remove(part);
  return mbr_disk(dir, "replica.img", {copy});
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("a replica that needs journal replay is replayed in the overlay, never in the source")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox") || !have_tool_or_skip("debugfs")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    std::string source = make_disk_needing_replay(dir, tree, "12.9");
    std::string before = sha256_of(source);
    auto minor_of = [](const RunResult& r) {
      INFO("stderr:\n" << r.err);
      REQUIRE(r.exit_code == 0);
      return nlohmann::json::parse(r.out)["os"]["minor"];
    };
    // What the journal holds is what the server wrote last: both backends must see it.
    CHECK(minor_of(run_rehost({"--backend", "native", "inspect", source, "--json"})) == 9);
    CHECK(sha256_of(source) == before);
    CHECK(minor_of(run_rehost({"--backend", "guestfs", "inspect", source, "--json"})) == 9);
    CHECK(sha256_of(source) == before);
    std::string output = dir.str() + "/out.qcow2";
    auto r = run_rehost(
        {"--backend", "native", "convert", source, "--target", "aws-nitro", "-o", output});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(minor_of(run_rehost({"--backend", "native", "inspect", output, "--json"})) == 9);
    CHECK(sha256_of(source) == before);
    CHECK(leaked_native_loops().empty());
  }
}

TEST_SUITE("integration")
{
  TEST_CASE("LUKS without a key: an encrypted root is refused with the reason, an encrypted data "
            "volume is reported and left alone")
  {
    if (!native_or_skip() || !have_tool_or_skip("busybox") || !have_tool_or_skip("cryptsetup")) {
      return;
    }
    TempDir dir;
    SUBCASE("the root is inside LUKS, only /boot is readable")
    {
      dir.write("boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n"
                                      "  linux /vmlinuz-6.1.0-13-amd64 root=/dev/mapper/root\n}\n");
      dir.write("boot/vmlinuz-6.1.0-13-amd64", "kernel");
      std::string boot = dir.str() + "/boot.img";
      must_run({"mkfs.ext4", "-q", "-F", "-d", dir.str() + "/boot", boot, "16M"});
      std::string source = mbr_disk(dir, "encrypted.img", {boot, luks_volume(dir, "root.img", 24)});
      std::string before = sha256_of(source);
      for (std::string backend : {"native", "guestfs"}) {
        INFO("backend " << backend);
        auto r = run_rehost({"--backend", backend, "inspect", source});
        INFO("stderr:\n" << r.err);
        CHECK(r.exit_code == 4);
        std::string line = single_error_line(r.err);
        CHECK(line.find("encrypted volume /dev/sda2 (crypto_LUKS)") != std::string::npos);
        CHECK(line.find("decrypted copy") != std::string::npos);
      }
      std::string output = dir.str() + "/out.qcow2";
      auto r = run_rehost(
          {"--backend", "native", "convert", source, "--target", "aws-nitro", "-o", output});
      INFO("stderr:\n" << r.err);
      CHECK(r.exit_code == 4);
      CHECK(single_error_line(r.err).find("encrypted volume /dev/sda2") != std::string::npos);
      CHECK(!fs::exists(output));
      CHECK(sha256_of(source) == before);
    }
    SUBCASE("the root is plain, a data volume is LUKS")
    {
      std::string tree = write_runnable_debian(dir, "root");
      dir.write("root/etc/crypttab", "data /dev/sda2 none luks\n");
      std::string rootfs = dir.str() + "/rootfs.img";
      must_run({"mkfs.ext4", "-q", "-F", "-d", tree, rootfs, "62M"});
      std::string source =
          mbr_disk(dir, "data.img", {rootfs, luks_volume(dir, "data.img.part", 24)});
      std::string before = sha256_of(source);
      auto r = run_rehost({"--backend", "native", "inspect", source, "--json"});
      INFO("stderr:\n" << r.err);
      REQUIRE(r.exit_code == 0);
      auto j = nlohmann::json::parse(r.out);
      CHECK(j["disk"]["root"] == "/dev/sda1");
      bool reported = false;
      for (const auto& f : j["disk"]["filesystems"]) {
        reported = reported || (f["device"] == "/dev/sda2" && f["encrypted"] == true);
      }
      CHECK(reported);
      CHECK(r.err.find("/dev/sda2 is encrypted (crypto_LUKS)") != std::string::npos);
      std::string output = dir.str() + "/out.qcow2";
      std::string report = dir.str() + "/report.json";
      auto c = run_rehost({"--backend", "native", "convert", source, "--target", "kvm", "-o",
                           output, "--report", report});
      INFO("convert stderr:\n" << c.err);
      REQUIRE(c.exit_code == 0);
      auto rep = nlohmann::json::parse(read_file(report));
      CHECK(rep["backend"] == "native");
      CHECK(rep["appliance_launches"] == 0);
      CHECK(sha256_of(source) == before);
    }
  }
}
