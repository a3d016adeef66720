#!/usr/bin/env bash
# make demo: the seeds' story on the local cluster. basic-app appends the
# time to /data/date.txt; we back it up (its objects and a quiesced CSI
# snapshot), lose its namespace, restore it without applying any manifest,
# and show that the file came back up to the backup, with a break until
# the restore. Run from the repository root
# after `make build cluster-tools` (make demo does both).
set -euo pipefail

BIN=$PWD/bin
export PATH=$BIN:$PATH # kubectl finds the kubectl-snapflow plugin here
KUBECTL=${KUBECTL:-${SNAPFLOW_CACHE:-$HOME/.cache/snapflow}/bin/kube-v1.34.4/kubectl}
SETS=snapflow-demo # ActionSets live apart from the app: they are the restore points
APP=basic-app

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
k() { "$KUBECTL" "$@"; }
copied() { snapflow-local csi-stats | sed -n 's/.*"bytesCopied": \([0-9]*\).*/\1/p'; }

step "1. Local cluster and controller"
if ! snapflow-local env >/dev/null 2>&1 || ! (eval "$(snapflow-local env)" && k get --raw /readyz >/dev/null 2>&1); then
  snapflow-local up
fi
eval "$(snapflow-local env)"
k delete namespace "$APP" "$APP-copy" "$SETS" --ignore-not-found --wait=true >/dev/null
make -s deploy KUBECTL="$KUBECTL" >/dev/null
k create namespace "$SETS" >/dev/null
# The demo's runs act as snapflow-runner in $SETS. They back up basic-app in
# its own namespace and restore it after that namespace is gone (creating
# it, from the retained snapshot handles): rights a platform team grants
# only to its backup namespace.
kubectl snapflow rbac -n "$SETS" --any-target-namespace --cluster-writes --apply >/dev/null
k apply -n "$SETS" -f blueprints/quiesced-snapshot/blueprint.yaml -f blueprints/csi-snapshot/blueprint.yaml >/dev/null
echo "controller running; blueprints quiesced-snapshot and csi-snapshot in $SETS"

step "2. basic-app writes the time every second"
k apply -f examples/basic-app/namespace.yaml -f examples/basic-app/pvc.yaml -f examples/basic-app/deployment.yaml >/dev/null
k -n "$APP" rollout status deployment/basic-app --timeout=120s >/dev/null
until [ "$(k -n "$APP" exec deploy/basic-app -- sh -c 'wc -l < /data/date.txt' 2>/dev/null || echo 0)" -ge 5 ]; do sleep 1; done
k -n "$APP" exec deploy/basic-app -- tail -n 3 /data/date.txt

step "3. Back up: freeze, snapshot, release at the cut, clone read-only to check it"
before=$(copied)
BACKUP=$(kubectl snapflow backup deploy/basic-app -n "$SETS" --workload-namespace "$APP" \
  --blueprint quiesced-snapshot --wait --timeout 5m \
  --param 'freezeCommand=[sh, -c, "touch /run/basic-app/freeze; until [ -e /run/basic-app/frozen ]; do sleep 0.2; done"]' \
  --param 'releaseCommand=[rm, -f, /run/basic-app/freeze]' \
  --param verifyClone=true)
clone_bytes=$(( $(copied) - before ))
k -n "$APP" exec deploy/basic-app -- cat /data/date.txt > /tmp/snapflow-demo-before.txt
echo "backup $BACKUP succeeded"

# objects_restored_at RESTORE: when RESTORE began recreating the app's
# objects, the earliest the restored app could write again.
objects_restored_at() { k -n "$SETS" get actionset "$1" -o jsonpath='{.status.phases[?(@.name=="objects")].startTime}'; }

step "4. The disaster: delete namespace $APP"
k delete namespace "$APP" --wait=true
echo "the snapshots were retained: $(k get volumesnapshotcontents -o name | wc -l) VolumeSnapshotContent(s) remain"

step "5. Restore from $BACKUP"
# No manifest is applied again: the restore brings back the claim from the
# snapshot, then the Deployment the backup captured, scaled back up.
RESTORE=$(kubectl snapflow restore --from "actionset/$BACKUP" -n "$SETS" --wait --timeout 5m)
restored_at=$(objects_restored_at "$RESTORE")
k -n "$APP" rollout status deployment/basic-app --timeout=120s >/dev/null
kubectl snapflow describe "actionset/$RESTORE" -n "$SETS" | sed -n '/^Objects:/,/^Conditions:/p' | sed '$d'
sleep 3 # let the restored app write a few lines after the restore

step "6. The restored date.txt: every line up to the backup, a break, then new lines"
# show_restored BEFORE CUT RESTORED_AT: the restored file is BEFORE up to
# the snapshot's cut, then has a break, then new lines.
show_restored() {
  k -n "$APP" exec deploy/basic-app -- cat /data/date.txt > /tmp/snapflow-demo-after.txt
  awk -v cut="$2" -v at="$3" '
    NR == FNR { orig[FNR] = $0; n = FNR; next }
    { line[FNR] = $0; m = FNR }
    END {
      k = 0; while (k < m && line[k+1] <= substr(cut, 1, 20)) k++
      same = 1; for (i = 1; i <= k; i++) if (line[i] != orig[i]) same = 0
      for (i = (k > 2 ? k - 2 : 1); i <= k; i++) print "  " line[i]
      print "  --- break: snapshot cut at " cut ", restored at " at " ---"
      for (i = k + 1; i <= m && i <= k + 3; i++) print "  " line[i]
      printf "%d lines restored, %s to the original up to the snapshot\n", k, (same ? "identical" : "NOT identical")
      if (!same || k == 0) exit 1
    }' "$1" /tmp/snapflow-demo-after.txt
}
cut_of() { k -n "$SETS" get actionset "$1" -o jsonpath='{.status.phases[?(@.name=="snap")].outputs.snapshots[0].creationTime}'; }
show_restored /tmp/snapflow-demo-before.txt "$(cut_of "$BACKUP")" "$restored_at"
kubectl snapflow describe "actionset/$BACKUP" -n "$SETS" | sed -n '/PHASE/,/^$/p'
hold=$(k -n "$SETS" get actionset "$BACKUP" -o jsonpath='{.status.artifacts.quiesceHold}')

step "7. 3-2-1: also export to an offsite Location (Azure Blob, here Azurite)"
# The Location's Secrets are piped to kubectl: no key on a command line.
snapflow-local azurite-location --name offsite --namespace "$SETS" --prefix "demo-$(date +%s)" | k apply -f - >/dev/null
EXPORT=$(kubectl snapflow backup deploy/basic-app -n "$SETS" --workload-namespace "$APP" \
  --blueprint csi-snapshot --location offsite --param export=true --wait --timeout 10m)
k -n "$APP" exec deploy/basic-app -- cat /data/date.txt > /tmp/snapflow-demo-before-export.txt
export_cut=$(cut_of "$EXPORT")
RP=$(k -n "$SETS" get actionset "$EXPORT" -o jsonpath='{.status.artifacts.restorePoint}')
echo "backup $EXPORT exported $(k -n "$SETS" get actionset "$EXPORT" \
  -o jsonpath='{.status.phases[?(@.name=="upload")].outputs.exports[0].bytesTotal}') bytes; restore point $RP on Location offsite"

step "8. Lose everything: the snapshots, the namespace and the backups' ActionSets"
kubectl snapflow restore --from "actionset/$EXPORT" -n "$SETS" --action delete --param keepExports=true --wait --timeout 5m >/dev/null
kubectl snapflow restore --from "actionset/$BACKUP" -n "$SETS" --action delete --wait --timeout 5m >/dev/null
k delete namespace "$APP" --wait=true
k -n "$SETS" delete actionsets --all >/dev/null
ours=$(k get volumesnapshotcontents -o jsonpath='{range .items[*]}{.spec.volumeSnapshotRef.name}{"\n"}{end}' |
  grep -c -e "^$BACKUP-" -e "^$EXPORT-" || true)
echo "left of this demo's backups: $ours VolumeSnapshotContent(s), $(k -n "$SETS" get actionsets -o name | wc -l) ActionSet(s)"

step "9. Restore from the Location alone"
kubectl snapflow restorepoints --location offsite -n "$SETS"
RESTORE=$(kubectl snapflow restore --location offsite --restore-point "$RP" -n "$SETS" --wait --timeout 10m)
restored_at=$(objects_restored_at "$RESTORE")
k -n "$APP" rollout status deployment/basic-app --timeout=120s >/dev/null
kubectl snapflow describe "actionset/$RESTORE" -n "$SETS" | sed -n '/^Objects:/,/^Conditions:/p' | sed '$d'
sleep 3 # let the restored app write a few lines after the restore
show_restored /tmp/snapflow-demo-before-export.txt "$export_cut" "$restored_at"

step "10. Summary"
echo "quiesce hold:                        $hold"
echo "bytes copied by the read-only clone: $clone_bytes"
echo "restored from the Location by:       $RESTORE"
