#include "converter/sandbox.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>

#include "converter/process.hpp"

namespace rehost {

namespace {

// Reports a setup failure from inside the sandbox on the output pipe, and its step as status.
[[noreturn]] void die(const char* step)
{
  int saved = errno;
  std::string msg = std::string("rehost-sandbox: ") + step + ": " + std::strerror(saved) + "\n";
  (void)!write(2, msg.data(), msg.size());
  _exit(126);
}

bool is_dir(const std::string& path)
{
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void mount_tmpfs(const std::string& where, const char* options)
{
  if (is_dir(where) && mount("tmpfs", where.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
    die(("tmpfs on " + where).c_str());
  }
}

void make_dev(const std::string& dev, const char* name, unsigned major_no, unsigned minor_no)
{
  std::string path = dev + "/" + name;
  if (mknod(path.c_str(), S_IFCHR | 0666, makedev(major_no, minor_no)) != 0) {
    die(("mknod " + path).c_str());
  }
  chmod(path.c_str(), 0666);
}

void drop_capabilities()
{
  // Kept: what package scripts and initramfs builders need to manage files as root.
  static const int k_keep[] = {
      CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,  CAP_FSETID,
      CAP_KILL,       CAP_SETGID,       CAP_SETUID,          CAP_SETPCAP, CAP_NET_BIND_SERVICE,
      CAP_SYS_CHROOT, CAP_MKNOD,        CAP_AUDIT_WRITE,     CAP_SETFCAP, CAP_LINUX_IMMUTABLE};
  uint64_t keep = 0;
  for (int c : k_keep) {
    keep |= 1ULL << c;
  }
  for (int c = 0; c <= 63; ++c) {
    if (!(keep & (1ULL << c))) {
      prctl(PR_CAPBSET_DROP, c, 0, 0, 0); // EINVAL past the last known capability
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    die("capget");
  }
  for (int i = 0; i < 2; ++i) {
    uint32_t mask = static_cast<uint32_t>(keep >> (32 * i));
    data[i].effective &= mask;
    data[i].permitted &= mask;
    data[i].inheritable &= mask;
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    die("capset");
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

// PID 1 of the sandbox: builds the file system view, then runs the command and reaps.
int sandbox_init(const SandboxOptions& o, const std::vector<std::string>& argv)
{
  // Dies with the launcher, which dies when rehost stops it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    die("making mounts private");
  }
  const std::string& r = o.root;
  // /dev: only harmless nodes and the guest's own block devices.
  const std::string dev = r + "/dev";
  if (is_dir(dev)) {
    if (mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4m") != 0) {
      die("tmpfs on /dev");
    }
    make_dev(dev, "null", 1, 3);
    make_dev(dev, "zero", 1, 5);
    make_dev(dev, "full", 1, 7);
    make_dev(dev, "random", 1, 8);
    make_dev(dev, "urandom", 1, 9);
    make_dev(dev, "tty", 5, 0);
    // The guest's disks under the names it knows them by, with the udev links tools look
    // for (grub-mkconfig writes root=UUID= only when /dev/disk/by-uuid/UUID exists).
    mkdir((dev + "/disk").c_str(), 0755);
    mkdir((dev + "/disk/by-uuid").c_str(), 0755);
    mkdir((dev + "/disk/by-label").c_str(), 0755);
    (void)!symlink("/proc/self/fd", (dev + "/fd").c_str());
    (void)!symlink("/proc/self/fd/0", (dev + "/stdin").c_str());
    (void)!symlink("/proc/self/fd/1", (dev + "/stdout").c_str());
    (void)!symlink("/proc/self/fd/2", (dev + "/stderr").c_str());
    mkdir((dev + "/shm").c_str(), 01777);
    mkdir((dev + "/pts").c_str(), 0755);
    for (const auto& d : o.devices) {
      struct stat st;
      if (stat(d.host_path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) {
        continue;
      }
      // Plain names, or "mapper/NAME" for an LV.
      std::string path = dev + "/" + d.name;
      if (d.name.rfind("mapper/", 0) == 0) {
        mkdir((dev + "/mapper").c_str(), 0755);
      }
      if (mknod(path.c_str(), S_IFBLK | 0660, st.st_rdev) != 0) {
        die(("mknod " + path).c_str());
      }
      if (!d.uuid.empty() && d.uuid.find('/') == std::string::npos) {
        (void)!symlink(("../../" + d.name).c_str(), (dev + "/disk/by-uuid/" + d.uuid).c_str());
      }
      if (!d.label.empty() && d.label.find('/') == std::string::npos) {
        (void)!symlink(("../../" + d.name).c_str(), (dev + "/disk/by-label/" + d.label).c_str());
      }
      for (const auto& alias : d.aliases) {
        size_t slash = alias.find('/');
        std::string dir = alias.substr(0, slash);
        std::string file = slash == std::string::npos ? "" : alias.substr(slash + 1);
        auto plain = [](const std::string& part) {
          return !part.empty() && part != "." && part != ".."
                 && part.find('/') == std::string::npos;
        };
        // Never one of /dev's own entries (a VG named "fd" or "pts").
        static const std::set<std::string> reserved = {
            "disk",   "fd",   "stdin", "stdout", "stderr", "shm",     "pts",
            "mapper", "null", "zero",  "full",   "random", "urandom", "tty"};
        if (!plain(dir) || !plain(file) || reserved.count(dir)) {
          continue;
        }
        // Never through a link already there (/dev/fd leads to /proc).
        struct stat dst;
        mkdir((dev + "/" + dir).c_str(), 0755);
        if (lstat((dev + "/" + dir).c_str(), &dst) == 0 && S_ISDIR(dst.st_mode)) {
          (void)!symlink(("../" + d.name).c_str(), (dev + "/" + alias).c_str());
        }
      }
    }

    mount_tmpfs(dev + "/shm", "mode=1777,size=64m");
  }
  if (is_dir(r + "/proc")
      && mount("proc", (r + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)
             != 0) {
    die("mounting /proc");
  }
  if (is_dir(r + "/sys")) {
    if (mount("sysfs", (r + "/sys").c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr)
        != 0) {
      die("mounting /sys");
    }
    // The guest's firmware, not ours: grub-mkconfig and efibootmgr look at /sys/firmware/efi.
    const std::string fw = r + "/sys/firmware";
    if (is_dir(fw)) {
      if (mount("tmpfs", fw.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0) {
        die("tmpfs on /sys/firmware");
      }
      if (o.firmware == "uefi") {
        mkdir((fw + "/efi").c_str(), 0755);
      }
      mount(nullptr, fw.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr);
    }
  }
  mount_tmpfs(r + "/run", "mode=0755,size=64m");
  mount_tmpfs(r + "/tmp", "mode=1777");
  mount_tmpfs(r + "/var/tmp", "mode=1777");

  // Switch the root for good: the host's tree is detached, not just out of sight.
  const std::string put_old = r + "/run/.rehost-oldroot";
  bool have_run = is_dir(r + "/run");
  if (!have_run) {
    // A guest without /run: use a tmpfs over /mnt or fail.
    die("the guest has no /run directory");
  }
  mkdir(put_old.c_str(), 0700);
  if (chdir(r.c_str()) != 0) {
    die("chdir to the guest root");
  }
  if (syscall(SYS_pivot_root, ".", "run/.rehost-oldroot") != 0) {
    die("pivot_root");
  }
  if (chdir("/") != 0) {
    die("chdir /");
  }
  if (umount2("/run/.rehost-oldroot", MNT_DETACH) != 0) {
    die("detaching the host's root");
  }
  rmdir("/run/.rehost-oldroot");
  sethostname("localhost", 9);
  drop_capabilities();

  pid_t child = fork();
  if (child < 0) {
    die("fork");
  }
  if (child == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char home[] = "HOME=/root";
    char lang[] = "LANG=C.UTF-8";
    char term[] = "TERM=dumb";
    char frontend[] = "DEBIAN_FRONTEND=noninteractive";
    char* env[] = {path, home, lang, term, frontend, nullptr};
    setsid();
    execvpe(args[0], args.data(), env);
    std::string msg = std::string("rehost-sandbox: cannot run ") + argv[0]
                      + " in the guest: " + std::strerror(errno) + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
  }
  // Reap everything; the command's status is ours.
  int command_status = 0;
  while (true) {
    int status = 0;
    pid_t pid = wait(&status);
    if (pid < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (pid == child) {
      command_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Leftover daemons of the command die with the namespace.
      break;
    }
  }
  return command_status;
}

} // namespace

bool sandbox_available()
{
  return geteuid() == 0;
}

Result<CommandResult> run_in_sandbox(const SandboxOptions& o, const std::vector<std::string>& argv)
{
  if (argv.empty()) {
    return fail("internal: empty guest command");
  }
  ProcessOptions options;
  options.timeout = o.timeout;
  options.merge_stderr = true;
  options.child_main = [&]() -> int {
    // The launcher: new namespaces, then PID 1 of the new PID namespace. It dies with rehost
    // (even a SIGKILL'd one), and the namespace's PID 1 dies with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
      die("creating namespaces");
    }
    pid_t init = fork();
    if (init < 0) {
      die("fork");
    }
    if (init == 0) {
      _exit(sandbox_init(o, argv));
    }
    int status = 0;
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  };
  auto result = run_process(argv, options);
  if (!result) {
    return std::unexpected(result.error());
  }
  if (result->timed_out) {
    return fail("{} did not finish within {} s and was stopped", argv[0], o.timeout.count());
  }
  if (result->signal != 0) {
    return fail("{} was stopped by signal {}", argv[0], result->signal);
  }
  if (result->exit_status == 126 && result->out.find("rehost-sandbox: ") != std::string::npos) {
    std::string line = result->out.substr(result->out.find("rehost-sandbox: ") + 16);
    return fail("cannot set up the sandbox for {}: {}", argv[0], line.substr(0, line.find('\n')));
  }
  CommandResult out;
  out.exit_status = result->exit_status;
  out.out = std::move(result->out);
  return out;
}

} // namespace rehost
