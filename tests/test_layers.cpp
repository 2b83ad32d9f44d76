// The layer order of flowinone/ (scripts/check_layers.sh): the real tree keeps it, and an include
// that goes up the order (a deliberate bad one, in a copy) is caught and named.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "temp_dir.h"

namespace {

struct ScriptRun {
  int status = -1;
  std::string output;
};

ScriptRun check_layers(const std::string& root) {
  const std::string command =
      std::string("bash ") + FLOWINONE_SOURCE_DIR + "/scripts/check_layers.sh '" + root + "' 2>&1";
  ScriptRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A tree of two folders: solvers/ (layer 8) and train/ (layer 12).
std::string small_tree(const fi::testing::TempDir& scratch, const std::string& solver_include) {
  const std::string root = scratch.path();
  ::mkdir((root + "/flowinone").c_str(), 0755);
  ::mkdir((root + "/flowinone/solvers").c_str(), 0755);
  ::mkdir((root + "/flowinone/train").c_str(), 0755);
  write(root + "/flowinone/train/trainer.h", "#include \"flowinone/solvers/ode.h\"\n");
  write(root + "/flowinone/solvers/ode.h", "#pragma once\n" + solver_include);
  return root;
}

}  // namespace

TEST(Layers, TheLibraryKeepsItsLayerOrder) {
  const ScriptRun run = check_layers(FLOWINONE_SOURCE_DIR);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("layers ok"), std::string::npos) << run.output;
}

TEST(Layers, DownwardIncludesPass) {
  const fi::testing::TempDir scratch("layers_ok");
  const ScriptRun run =
      check_layers(small_tree(scratch, "#include \"flowinone/solvers/other.h\"\n"));
  EXPECT_EQ(run.status, 0) << run.output;
}

TEST(Layers, AnIncludeThatGoesUpFailsNamingFileAndLayers) {
  const fi::testing::TempDir scratch("layers_bad");
  const ScriptRun run =
      check_layers(small_tree(scratch, "#include \"flowinone/train/trainer.h\"\n"));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("flowinone/solvers/ode.h:2 includes flowinone/train/"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("solvers (layer 8) may not include train (layer 12)"),
            std::string::npos)
      << run.output;
}

TEST(Layers, AFolderOutsideTheOrderFails) {
  const fi::testing::TempDir scratch("layers_unknown");
  const std::string root = small_tree(scratch, "");
  ::mkdir((root + "/flowinone/server").c_str(), 0755);
  const ScriptRun run = check_layers(root);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("flowinone/server/: a folder missing from the layer order"),
            std::string::npos)
      << run.output;
}
