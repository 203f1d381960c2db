# The two commands of the README's quick start, and their parts.
#   make demo   set up, build, upscale a real JPEG photo x4 with the default model
#   make test   set up, build, run the test suite (heavy evaluations are not part of it)
#   make example  install the library and build examples/upscale_image against it (CI runs it)
BUILD ?= build
JOBS ?= $(shell nproc)
SAMPLE ?= data/samples/butterfly.png
DEMO_PHOTO ?= data/realworld/messi5.jpg
DEMO_OUT ?= out/messi5_x4.png

.PHONY: all setup configure program build demo test example bench clean

all: build

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

# The program only: the demo does not wait for the test suites to compile.
program: configure
	cmake --build $(BUILD) -j $(JOBS) --target srkit

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: program
	./$(BUILD)/srkit upscale $(DEMO_PHOTO) -o $(DEMO_OUT) --overwrite
	@echo "before: $(DEMO_PHOTO) (548x342 JPEG); after: $(DEMO_OUT) (x4, realesrgan-x4fast)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

# The library as a user's program sees it: install srkit into $(BUILD)/install, build
# examples/upscale_image against it with find_package(srkit) and with pkg-config, upscale the
# sample with each.
example: program
	cmake --install $(BUILD) --prefix $(CURDIR)/$(BUILD)/install
	cmake -S examples/upscale_image -B $(BUILD)/example -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_PREFIX_PATH=$(CURDIR)/$(BUILD)/install
	cmake --build $(BUILD)/example -j $(JOBS)
	rm -f out/example_x2.png out/example_pc_x2.png
	$(BUILD)/example/upscale_image $(SAMPLE) out/example_x2.png
	$(CXX) -O1 examples/upscale_image/main.cpp -o $(BUILD)/example/upscale_image_pc \
	  $$(PKG_CONFIG_PATH=$(BUILD)/install/lib/pkgconfig pkg-config --cflags --libs srkit)
	$(BUILD)/example/upscale_image_pc $(SAMPLE) out/example_pc_x2.png

bench: build
	bash bench/run_benchmarks.sh

clean:
	rm -rf $(BUILD) out
