// Library errors name options as {{name}}: what() shows the name, a program its own spelling.
#include <gtest/gtest.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

TEST(Error, OptionNamesShowAsNamesOrAsTheCallersSpelling) {
  const auto e = output_error("x.png", "already exists", "pass {{overwrite}} to replace it");
  EXPECT_STREQ(e.what(), "x.png: already exists (pass overwrite to replace it)");
  EXPECT_EQ(e.kind(), ErrorKind::kOutput);
  const auto as_flag = e.message([](const std::string& name) { return "--" + name; });
  EXPECT_EQ(as_flag, "x.png: already exists (pass --overwrite to replace it)");
  // Single braces (an external program's {in} and {out}) are not option names.
  const auto plain = usage_error("'up {in} {out}' needs {{scale}}");
  EXPECT_EQ(plain.message([](const std::string&) { return "-s"; }), "'up {in} {out}' needs -s");
}

}  // namespace
}  // namespace srkit
