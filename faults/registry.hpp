// The registry of fault types: a YAML/API `type` (or alias) -> a parser that validates the
// attributes once and returns a factory making one Fault per connection and direction.
// Built-in faults are registered explicitly (static self-registration would be dropped by the
// linker from a static library).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "faults/attribute.hpp"
#include "faults/attribute_reader.hpp"
#include "faults/fault.hpp"
#include "faults/listener_fault.hpp"

namespace faultline::faults {

class ListenerFault;

// Where a fault acts: on one direction's bytes, on the connection as a whole (once, whatever
// its `stream`), or on the listener (accepting, not connections).
enum class FaultScope { stream, connection, listener };

class FaultFactory {
 public:
  virtual ~FaultFactory() = default;
  virtual std::unique_ptr<Fault> create() const = 0;
  // Listener-scoped faults override this one instead; there is one per proxy, not per connection.
  virtual std::unique_ptr<ListenerFault> create_listener() const { return nullptr; }
};

// A factory from a lambda, for faults whose per-connection state is just a copy of settings.
template <typename Make>
class LambdaFaultFactory final : public FaultFactory {
 public:
  explicit LambdaFaultFactory(Make make) : make_(std::move(make)) {}
  std::unique_ptr<Fault> create() const override { return make_(); }

 private:
  Make make_;
};

template <typename FaultT, typename Settings>
std::shared_ptr<const FaultFactory> make_factory(Settings settings) {
  auto make = [settings] { return std::unique_ptr<Fault>(new FaultT(settings)); };
  return std::make_shared<LambdaFaultFactory<decltype(make)>>(std::move(make));
}

using FaultParser = std::function<std::shared_ptr<const FaultFactory>(AttributeReader&)>;

// One fault type, declared in its own file under faults/ and registered in builtin.cpp: all
// that the loader, the API, `faultline ctl` and the docs know of it.
struct FaultType {
  std::string name;                  // canonical (Toxiproxy's where it has the fault)
  std::vector<std::string> aliases;  // the product card's words
  FaultScope scope = FaultScope::stream;
  std::vector<AttributeSpec> attributes;  // the one declaration of its attributes and units
  FaultParser parse;                      // reads them (through an AttributeReader)

  const AttributeSpec* attribute(std::string_view attribute_name) const;
};

// A fault spec checked against its type: ready to instantiate per connection.
struct CompiledFault {
  config::FaultSpec spec;  // spec.type is the canonical name
  std::shared_ptr<const FaultFactory> factory;
  FaultScope scope = FaultScope::stream;
};

class FaultRegistry {
 public:
  // A name or alias registered twice, or a bad attribute declaration, is a programming error
  // (std::logic_error).
  void add(FaultType type);
  const FaultType* find(std::string_view type_or_alias) const;
  std::vector<std::string> type_names() const;                    // canonical names, sorted
  const std::vector<FaultType>& types() const { return types_; }  // in registration order

  // The declaration of `attribute` for a type (or alias), or of a common condition with a unit
  // (after, duration) for any type; null when neither declares it.
  const AttributeSpec* attribute(std::string_view type_or_alias, std::string_view attribute) const;

  // Throws config::ConfigError naming the spec's place on an unknown type or a bad attribute.
  CompiledFault compile(const config::FaultSpec& spec) const;

 private:
  std::vector<FaultType> types_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name or alias -> types_ slot
};

// Every fault in faults/, in one place: the list a newcomer reads to see what exists.
void register_builtin_faults(FaultRegistry& registry);

}  // namespace faultline::faults
