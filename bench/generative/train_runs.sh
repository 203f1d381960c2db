# Sourced by the study scripts of bench/ (flow_study.sh, preference_study.sh, icm_study.sh):
#   train_runs SRKIT OUT THREADS CONFIG...
# trains the configs at once, THREADS threads each, each resumed when OUT/NAME/checkpoint.pt
# exists (a finished run resumes to nothing), writing OUT/train_NAME.json (the result) and
# OUT/train_NAME.log (stderr); NAME is the config's file name without .yaml and its output folder.
train_runs() {
  local srkit=$1 out=$2 threads=$3 pids=() cfg name resume
  shift 3
  for cfg in "$@"; do
    name=$(basename "$cfg" .yaml)
    resume=()
    [ -f "$out/$name/checkpoint.pt" ] && resume=(--resume)
    "$srkit" train --config "$cfg" "${resume[@]}" --threads "$threads" --json \
      >"$out/train_$name.json" 2>"$out/train_$name.log" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
