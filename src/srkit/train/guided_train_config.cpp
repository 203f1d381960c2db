#include "srkit/train/guided_train_config.h"

#include "srkit/core/error.h"

namespace srkit {

bool is_guided_train_config(const std::filesystem::path& yaml) {
  const auto document = load_yaml_file(yaml);
  const auto model = document.root.IsMap() ? document.root["model"] : YAML::Node();
  return model && model.IsMap() && model["architecture"] &&
         model["architecture"].as<std::string>("") == "magnet";
}

GuidedTrainConfig read_guided_train_config(const std::filesystem::path& yaml) {
  GuidedTrainConfig c;
  c.source = yaml;
  const auto file = yaml.string();
  const auto document = load_yaml_file(yaml);
  c.text = document.text;
  YamlSection top(document.root, "", file);
  c.name = top.required<std::string>("name");
  c.output = top.get<std::string>("output", "runs/" + c.name);
  try {
    c.network = MagNetConfig::from_json(yaml_to_json(top.node("model")));
  } catch (const Error& e) {
    throw usage_error(file + ": model: " + e.what());
  }

  auto data = top.section("data");
  const auto tasks = data.node("tasks");
  if (!tasks || !tasks.IsSequence() || tasks.size() == 0) {
    data.fail("needs tasks: a list of depth, pan, mri");
  }
  for (const auto& task : tasks) c.tasks.push_back(parse_guided_task(task.as<std::string>("")));
  auto scales = data.section("scales");
  for (auto task : c.tasks) {
    const auto& name = guided_task_info(task).name;
    c.patches.scales.push_back(scales.get<std::vector<int64_t>>(name, {}));
  }
  scales.finish();
  c.patches.patch = data.integer("patch", 64, 16, 4096);  // the prompt net needs 9 px
  c.patches.batch = data.integer("batch", 4, 1, 65536);
  c.patches.mri = parse_mri_downsampling(data.get<std::string>("mri_downsampling", "kspace"));
  c.patches.min_known = data.number("min_known", 0.5, 0, 1);
  c.patches.randomize_synthetic_guides = data.get<bool>("randomize_synthetic_guides", false);
  c.data_root = data.get<std::string>("root", "");
  c.seed = static_cast<uint64_t>(data.integer("seed", 1, 0, INT64_MAX));
  data.finish();

  auto loss = top.section("loss");
  c.balance_weight = loss.number("balance_weight", 0.01, 0, 1e6);
  loss.finish();

  OptimizerSchedule defaults;  // MAG-Net's: Adam, lr 4e-4, cosine
  defaults.optimizer = "adam";
  defaults.lr = 4e-4;
  defaults.beta2 = 0.999;
  static_cast<OptimizerSchedule&>(c) = read_optimizer_schedule(top, defaults);
  c.checkpoint_every = top.integer("checkpoint_every", 500, 1, INT64_MAX);
  c.log_every = top.integer("log_every", 10, 1, INT64_MAX);
  top.finish();
  return c;
}

}  // namespace srkit
