#include "agent/catalog/types.h"

namespace roster::catalog {

const char* tag_layer_name(TagLayer layer) {
  switch (layer) {
    case TagLayer::operator_layer: return "operator";
    case TagLayer::runtime_layer: return "runtime";
    case TagLayer::image_layer: return "image";
  }
  return "unknown";
}

TagMap NodeTags::merged() const {
  // Lowest layer first, so each higher layer overwrites per key.
  TagMap result = image_tags;
  for (const auto& [key, value] : runtime_tags) result[key] = value;
  for (const auto& [key, value] : operator_tags) result[key] = value;
  return result;
}

TagMap& NodeTags::layer(TagLayer which) {
  switch (which) {
    case TagLayer::operator_layer: return operator_tags;
    case TagLayer::runtime_layer: return runtime_tags;
    case TagLayer::image_layer: return image_tags;
  }
  return operator_tags;
}

const TagMap& NodeTags::layer(TagLayer which) const {
  return const_cast<NodeTags*>(this)->layer(which);
}

}  // namespace roster::catalog
