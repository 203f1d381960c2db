#include "srkit/train/guided_train_config.h"

#include "srkit/core/error.h"
#include "srkit/train/yaml_config.h"

namespace srkit {

bool is_guided_train_config(const std::filesystem::path& yaml) {
  const auto root = load_yaml_file(yaml).root;
  const auto model = root.is_object() ? root.value("model", nlohmann::json()) : nlohmann::json();
  return model.is_object() && model.value("architecture", nlohmann::json()) == "magnet";
}

GuidedTrainConfig read_guided_train_config(const std::filesystem::path& yaml) {
  GuidedTrainConfig c;
  c.source = yaml;
  const auto file = yaml.string();
  const auto document = load_yaml_file(yaml);
  c.text = document.text;
  ConfigSection top(document.root, "", file);
  c.name = top.required<std::string>("name");
  c.output = top.get<std::string>("output", "runs/" + c.name);
  try {
    const auto& model = top.value("model");
    c.network = MagNetConfig::from_json(model.is_null() ? nlohmann::json::object() : model);
  } catch (const Error& e) {
    throw usage_error(file + ": model: " + e.what());
  }

  auto data = top.section("data");
  const auto& tasks = data.value("tasks");
  if (!tasks.is_array() || tasks.empty()) data.fail("needs tasks: a list of depth, pan, mri");
  for (const auto& task : tasks) {
    c.tasks.push_back(parse_guided_task(task.is_string() ? task.get<std::string>() : task.dump()));
  }
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
