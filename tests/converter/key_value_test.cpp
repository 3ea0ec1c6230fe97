#include "converter/key_value.hpp"

#include <doctest/doctest.h>

using namespace rehost;

TEST_SUITE("unit")
{
  TEST_CASE("edit_key_values sets keys in place, keeps comments and order, appends the rest")
  {
    const std::string waagent = "# Microsoft Azure Linux Agent Configuration\n"
                                "Provisioning.Agent=auto\n"
                                "\n"
                                "# Format if unformatted.\n"
                                "ResourceDisk.Format = y\n"
                                "#ResourceDisk.EnableSwap=n\n"
                                "Logs.Verbose=n\n";
    auto r = edit_key_values(
        waagent, {{{"ResourceDisk.Format", "n"}, {"ResourceDisk.EnableSwap", "y"}}, {}});
    CHECK(r.text
          == "# Microsoft Azure Linux Agent Configuration\n"
             "Provisioning.Agent=auto\n"
             "\n"
             "# Format if unformatted.\n"
             "ResourceDisk.Format = n\n"
             "#ResourceDisk.EnableSwap=n\n"
             "Logs.Verbose=n\n"
             "ResourceDisk.EnableSwap=y\n");
    CHECK(r.changed
          == std::vector<std::string>{"ResourceDisk.Format=n", "ResourceDisk.EnableSwap=y"});
    // Setting what is already there changes nothing.
    auto same = edit_key_values(r.text, {{{"ResourceDisk.Format", "n"}}, {}});
    CHECK(same.text == r.text);
    CHECK(same.changed.empty());
  }

  TEST_CASE("edit_key_values removes keys and handles blank separators and missing newlines")
  {
    const std::string sshd = "# sshd_config\n"
                             "PasswordAuthentication yes\n"
                             "UseDNS\tyes\n"
                             "ClientAliveInterval 0\n"
                             "PermitRootLogin";
    auto r = edit_key_values(
        sshd, {{{"PermitRootLogin", "no"}, {"ClientAliveInterval", "120"}}, {"UseDNS"}}, " ");
    CHECK(r.text
          == "# sshd_config\n"
             "PasswordAuthentication yes\n"
             "ClientAliveInterval 120\n"
             "PermitRootLogin no");
    CHECK(r.removed == std::vector<std::string>{"UseDNS"});
    auto appended = edit_key_values("A=1", {{{"B", "2"}}, {}});
    CHECK(appended.text == "A=1\nB=2\n");
    CHECK(edit_key_values("", {{{"B", "2"}}, {}}).text == "B=2\n");
    // Keys within and after a Match block are conditional: left alone, and missing keys go
    // before the block.
    KeyEdits before_match{{{"PasswordAuthentication", "no"}, {"UseDNS", "no"}}, {}, "Match"};
    CHECK(edit_key_values("PasswordAuthentication yes\nmatch User git\n  UseDNS yes\n",
                          before_match, " ")
              .text
          == "PasswordAuthentication no\nUseDNS no\nmatch User git\n  UseDNS yes\n");
    // Every line assigning the key gets the value, whichever one the program reads.
    CHECK(edit_key_values("X=1\nX=2\n", {{{"X", "3"}}, {}}).text == "X=3\nX=3\n");
  }

  TEST_CASE("edit_ini edits keys within one section and keeps the rest byte for byte")
  {
    const std::string nm = "[main]\n"
                           "plugins=ifupdown,keyfile\n"
                           "\n"
                           "[ifupdown]\n"
                           "managed = false\n"
                           "; a comment\n"
                           "\n"
                           "[device]\n"
                           "wifi.scan-rand-mac-address=no\n";
    auto r = edit_ini(nm, "ifupdown", {{{"managed", "true"}, {"extra", "1"}}, {}});
    CHECK(r.text
          == "[main]\n"
             "plugins=ifupdown,keyfile\n"
             "\n"
             "[ifupdown]\n"
             "managed = true\n"
             "extra=1\n"
             "; a comment\n"
             "\n"
             "[device]\n"
             "wifi.scan-rand-mac-address=no\n");
    // The same key in another section is not touched; removing works within the section only.
    auto removed = edit_ini("[a]\nk=1\n[b]\nk=2\n", "b", {{}, {"k"}});
    CHECK(removed.text == "[a]\nk=1\n[b]\n");
    CHECK(removed.removed == std::vector<std::string>{"k"});
  }

  TEST_CASE("edit_ini creates a missing section and handles keys before any section")
  {
    auto r = edit_ini("[main]\nplugins=keyfile", "keyfile", {{{"unmanaged-devices", "none"}}, {}});
    CHECK(r.text == "[main]\nplugins=keyfile\n\n[keyfile]\nunmanaged-devices=none\n");
    CHECK(edit_ini("", "main", {{{"dns", "default"}}, {}}).text == "[main]\ndns=default\n");
    CHECK(edit_ini("top=1\n[s]\nk=v\n", "", {{{"top", "2"}, {"new", "x"}}, {}}).text
          == "top=2\nnew=x\n[s]\nk=v\n");
    // An empty section gets its keys right after the header, before the next section.
    CHECK(edit_ini("[s]\n\n[t]\n", "s", {{{"k", "v"}}, {}}).text == "[s]\nk=v\n\n[t]\n");
    // A section written twice: the key is set where it is, not added again.
    CHECK(edit_ini("[s]\na=1\n[t]\n[s]\nb=2\n", "s", {{{"a", "9"}}, {}}).text
          == "[s]\na=9\n[t]\n[s]\nb=2\n");
  }

  TEST_CASE("a last line ending in a carriage return alone is the key it names")
  {
    // Found by fuzz_key_value: "UseDNS\r" was not removed, then was once a line followed it.
    const KeyEdits edits{{{"PasswordAuthentication", "no"}}, {"UseDNS"}};
    auto once = edit_key_values("UseDNS\r", edits, " ");
    CHECK(once.text == "PasswordAuthentication no\n");
    CHECK(edit_key_values(once.text, edits, " ").text == once.text);
  }
}
