// The one test binary. Test suites are the tiers: "unit" (no appliance, milliseconds),
// "integration" (libguestfs on small generated images), "e2e" (a real Debian image converted
// and booted with qemu).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
