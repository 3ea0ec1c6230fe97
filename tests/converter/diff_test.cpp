#include "converter/diff.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("unified_diff of equal texts is empty")
  {
    CHECK(unified_diff("/etc/x", "a\nb\n", "a\nb\n").empty());
  }

  TEST_CASE("unified_diff shows one hunk with three lines of context")
  {
    std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    std::string after = "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n";
    CHECK(unified_diff("/etc/fstab", before, after)
          == "--- a/etc/fstab\n+++ b/etc/fstab\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n "
             "8\n");
  }

  TEST_CASE("unified_diff separates distant changes into hunks and handles creation")
  {
    std::string before;
    std::string after;
    for (int i = 1; i <= 20; ++i) {
      before += std::to_string(i) + "\n";
      after += (i == 2 || i == 19 ? "x" : std::to_string(i)) + "\n";
    }
    std::string d = unified_diff("/f", before, after);
    CHECK(d.find("@@ -1,5 +1,5 @@") != std::string::npos);
    CHECK(d.find("@@ -16,5 +16,5 @@") != std::string::npos);
    CHECK(unified_diff("/new", "", "a\n") == "--- a/new\n+++ b/new\n@@ -0,0 +1,1 @@\n+a\n");
    CHECK(unified_diff("/n", "a", "b").find("\\ No newline at end of file") != std::string::npos);
  }
}
