#include "flowinone/generative/generative_model.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/generative/data_spec.h"

namespace fi {

namespace {
constexpr NamedValue<ModelFamily> kFamilyNames[] = {
    {ModelFamily::kFlowMatching, "flow-matching"},
    {ModelFamily::kNormalizingFlow, "normalizing-flow"}};
}  // namespace

ModelFamily parse_model_family(const std::string& name) {
  return parse_named(kFamilyNames, name, "model family");
}

std::string to_string(ModelFamily family) { return name_of(kFamilyNames, family); }

c10::Device GenerativeModel::device() {
  const auto parameters = module().parameters();
  return parameters.empty() ? c10::Device(c10::kCPU) : parameters[0].device();
}

ModelInfo GenerativeModel::common_info() const {
  ModelInfo info;
  info.name = config_.model;
  info.data_shape = data_shape(config_);
  info.is_image = is_image_data(config_);
  info.num_classes = config_.num_classes;
  if (data_kind(config_) == DataKind::kFashionMnist && config_.num_classes == 10) {
    info.class_names = fashion_mnist_class_names();
  }
  info.translates = is_image_pairs(config_);
  info.pairing_mode = pairing_mode(config_);
  return info;
}

Generated GenerativeModel::translate(const torch::Tensor& inputs,
                                     const GenerationOptions& options) {
  throw std::invalid_argument("[translate] the model " + config_.model + " (target " +
                              config_.target +
                              ") does not translate pictures: it was not trained on image pairs");
}

torch::Tensor GenerativeModel::source_noise(std::int64_t, std::uint64_t) {
  throw std::invalid_argument("[source_noise] the model " + config_.model +
                              " draws its noise inside its own sampling pass");
}

VelocityFn GenerativeModel::velocity_field() {
  throw std::invalid_argument("[velocity_field] the model " + config_.model +
                              " has no velocity field: it does not integrate an ODE");
}

}  // namespace fi
