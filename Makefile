# medllm: two commands on a fresh machine.
#   make demo   installs what the main job needs and answers a sample question locally
#   make test   installs and runs the test suite (slow tests: make test-slow)

VENV     ?= .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip
MEDLLM   := $(VENV)/bin/medllm
# llama.cpp builds from source; portable across x86-64 CPUs of this kind.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# Assembled models are shared by every MEDLLM_HOME on this machine (built once).
export MEDLLM_MODELS_DIR ?= $(HOME)/.medllm/models

SAMPLE_QUESTION ?= How is heparin given and monitored, and how does that differ from warfarin?

.PHONY: install install-demo demo test test-slow deid-model triage-weights triage-probe ner-model clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	@# The CPU build of torch first, from local disk: anything that needs torch then reuses it.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,bench,train,ray,milvus]'
	touch $@

install: $(VENV)/.installed
	@# The browser tests of `medllm serve` drive Debian's chromium (Playwright cannot download one here).
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

$(VENV)/.installed-demo: $(VENV)/.installed
	$(PIP) install -q -e '.[qwen15]'
	touch $@

install-demo: $(VENV)/.installed-demo

demo: install-demo
	$(MEDLLM) models prepare qwen2.5-coder-1.5b-instruct
	@# The clinical knowledge base shipped in the package (4 OpenStax books + MedQuAD: BM25, and
	@# MiniLM vectors for the books) is built once; its build time is printed (README: measured).
	test -f $${MEDLLM_HOME:-$$HOME/.medllm}/indexes/default/manifest.json || $(MEDLLM) kb build-default
	$(MEDLLM) ask "$(SAMPLE_QUESTION)"

test: install
	$(MEDLLM) models prepare gemma3-270m qwen2.5-coder-0.5b-instruct
	$(PY) -m pytest -q --durations=10

test-slow: install
	$(PY) -m pytest -q -m slow

# The privacy gate's token model (both operating points' thresholds) and shipped site lexicon,
# learned from ALL the PhysioNet deid dev notes (~4 min): scored on those notes they overstate
# (benchmarks/deid.py --systems medllm-shipped shows by how much). benchmarks/deid.py refits
# every learned part inside nested folds by patient for its figures.
DEID_GOLD ?= ../shared/data/deid/physionet_dev.jsonl
deid-model: install
	nice $(PY) -c 'import sys; from medllm.trust.privacy.learned import main; main(sys.argv[1:])' $(DEID_GOLD)

# The safety triage classifier: heads over the packaged MiniLM (src/medllm/trust/triage_weights.npz)
# and their thresholds, from the safety dev set, benign questions from MedQuAD, MeQSum and K-QA, and
# the team-written messages (~3 min). The red-flag table and intent cues are reviewed data and code,
# not trained. Figures: benchmarks/safety.py.
triage-weights: install
	nice $(PY) -m medllm.trust.triage_train --data ../shared/data --frozen

# The triage probe judge (src/medllm/trust/triage_probe.npz): heads over the packaged 0.5B
# model's hidden states for the classifier's uncertain band. Reading every training message
# through the model takes ~35 min on 2 cores the first time (kept in $MEDLLM_HOME/cache, resumes).
triage-probe: install
	nice $(PY) -m medllm.trust.triage_train --data ../shared/data --probe

# The disease/chemical NER model (src/medllm/tasks/ie/ner_model/, ~22 MB fp16 over the packaged
# MiniLM), ~30 min on 2 cores: (1) fine-tuned on the BC5CDR + NCBI-disease train splits with the
# dictionary tagger's tags as an input feature (--lexicon), best of 4 epochs on devel fold A;
# (2) one more epoch at a lower rate with devel fold A added.
# Devel fold B is never trained or chosen on: benchmarks/ner.py scores it against the alternatives.
ner-model: install
	nice $(PY) -m medllm.tasks.ie.ner_train --data ../shared/data --lexicon --epochs 4 --batch-size 32 --lr 1.5e-4 --seed 13 --threads 2 --out build/ner-stage1
	nice $(PY) -m medllm.tasks.ie.ner_train --data ../shared/data --lexicon --epochs 1 --batch-size 32 --lr 5e-5 --seed 13 --threads 2 --init build/ner-stage1 --with-fold-a

clean:
	rm -rf $(VENV) build *.egg-info
