// srkit models: the registered models, whether they are installed, and their cards; with
// --upgrade, a model file of an older srkit rewritten in the current format.
#include <fmt/format.h>

#include "common.h"
#include "srkit/models/model_archive.h"
#include "srkit/models/registry.h"

namespace srkit::cli {
namespace {

struct ModelsArgs {
  CommonFlags common;
  std::string upgrade;  // an older .srkit file
  std::string output;   // where its upgrade goes
};

int run_upgrade(const ModelsArgs& args) {
  upgrade_model_file(args.upgrade, args.output);
  if (args.common.json) {
    print_json(
        {{"upgraded", args.upgrade}, {"output", args.output}, {"version", kModelFileVersion}});
  } else {
    say(args.common, fmt::format("{} -> {} (model file version {})", args.upgrade, args.output,
                                 kModelFileVersion));
  }
  return kExitOk;
}

int run_models(const ModelsArgs& args) {
  if (!args.upgrade.empty()) return run_upgrade(args);
  nlohmann::json cards = nlohmann::json::array();
  if (!args.common.json) {
    fmt::print(stderr, "{:<24} {:>5} {:>9} {:>11} {:>12} {:>8}  {:<10} {}\n", "model", "scale",
               "installed", "parameters", "GFLOP/Mpx", "RF (px)", "licence", "source");
  }
  for (const auto& entry : known_models()) {
    for (const auto scale : entry.scales) {
      const bool installed = is_installed(entry, scale);
      const auto card = describe_model(entry.name, scale);
      auto json = to_json(card);
      json["installed"] = installed;
      cards.push_back(json);
      if (args.common.json) continue;
      fmt::print(stderr, "{:<24} {:>5} {:>9} {:>11} {:>12} {:>8}  {:<10} {}\n", entry.name,
                 "x" + std::to_string(scale), installed ? "yes" : "no",
                 installed ? std::to_string(card.parameters) : "-",
                 installed ? fmt::format("{:.1f}", card.flops_per_input_pixel * 1e6 / 1e9) : "-",
                 installed ? fmt::format("{:.0f}", card.receptive_radius) : "-", card.licence,
                 card.source);
    }
  }
  if (args.common.json) print_json(cards);
  if (!args.common.json) {
    fmt::print(stderr, "models folder: {} (install or repair with scripts/setup.sh)\n",
               models_root().string());
  }
  return kExitOk;
}

}  // namespace

void register_models(CLI::App& app, Runner& run) {
  auto args = std::make_shared<ModelsArgs>();
  auto* command = app.add_subcommand(
      "models", "list the models and their cards, or upgrade an older .srkit file");
  add_common_flags(*command, args->common);
  auto* output =
      command->add_option("-o,--output", args->output,
                          "with --upgrade: the new model file (a new name: nothing is replaced)");
  command
      ->add_option("--upgrade", args->upgrade,
                   "rewrite a .srkit file of an older srkit (a LibTorch archive, which srkit no "
                   "longer runs) in the current format; only for files you trust")
      ->needs(output);
  output->needs("--upgrade");
  command->callback([args, &run] { run = [args] { return run_models(*args); }; });
}

}  // namespace srkit::cli
