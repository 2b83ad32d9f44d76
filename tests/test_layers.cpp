// The layer order of flowinone/ (scripts/check_layers.sh): the real tree keeps it, and an include
// that goes up the order (a deliberate bad one, in a copy) is caught and named.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "cli_run.h"
#include "temp_dir.h"

namespace {

fi::testing::CliRun check_layers(const std::string& root) {
  return fi::testing::run_shell(std::string("bash ") + FLOWINONE_SOURCE_DIR +
                                "/scripts/check_layers.sh '" + root + "'");
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
  const fi::testing::CliRun run = check_layers(FLOWINONE_SOURCE_DIR);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("layers ok"), std::string::npos) << run.output;
}

TEST(Layers, DownwardIncludesPass) {
  const fi::testing::TempDir scratch("layers_ok");
  const fi::testing::CliRun run =
      check_layers(small_tree(scratch, "#include \"flowinone/solvers/other.h\"\n"));
  EXPECT_EQ(run.status, 0) << run.output;
}

TEST(Layers, AnIncludeThatGoesUpFailsNamingFileAndLayers) {
  const fi::testing::TempDir scratch("layers_bad");
  const fi::testing::CliRun run =
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
  const fi::testing::CliRun run = check_layers(root);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("flowinone/server/: a folder missing from the layer order"),
            std::string::npos)
      << run.output;
}
