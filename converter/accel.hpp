// Is KVM usable here, or must qemu run under TCG?
//
// /dev/kvm can exist and still be unusable: qemu aborts ("failed to set MSR 0x10a") or hangs at
// "Booting from ROM". The probe boots the host's kernel under KVM with no root file system; a
// working KVM reaches the kernel panic and qemu exits within seconds. The verdict is kept in a
// cache file keyed by the host kernel, the qemu binary and /dev/kvm, so later runs pay nothing.
#pragma once

#include <string>

namespace rehost {

enum class Accel { kvm, tcg };

// The accelerator to use, probing at most once per host configuration. Never fails: when the
// probe cannot run, TCG is the answer.
Accel usable_accel();

// "kvm" or "tcg".
const char* to_string(Accel accel);

// Where the verdict is cached ($XDG_CACHE_HOME/rehost or ~/.cache/rehost).
std::string accel_cache_path();

} // namespace rehost
