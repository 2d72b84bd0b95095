#!/usr/bin/env bash
# The demo: set up, build a 3-node lab, run the sample app in it, and show packets crossing it.
#   scripts/demo.sh        build (or reuse) the lab "demo" and apply examples/demo.yaml
#   scripts/demo.sh down   remove the lab and everything it made
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=demo
podnet() { .venv/bin/python -m podnet "$@"; }

if [ "${1:-}" = "down" ]; then
  podnet down --name "$LAB"
  exit 0
fi

./scripts/setup.sh
if podnet kubeconfig --name "$LAB" >/dev/null 2>&1; then
  echo "==> lab $LAB exists; reusing it (scripts/demo.sh down removes it)"
else
  podnet up --name "$LAB" --nodes 3
fi
export KUBECONFIG=$(podnet kubeconfig --name "$LAB")

echo; echo "==> kubectl apply -f examples/demo.yaml"
kubectl apply -f examples/demo.yaml
kubectl rollout status deployment/web -n demo --timeout=60s
echo; echo "\$ kubectl get nodes -o wide"; kubectl get nodes -o wide
echo; echo "\$ kubectl get pods,svc -n demo -o wide"; kubectl get pods,svc -n demo -o wide

mapfile -t PODS < <(kubectl get pods -n demo -l app=web -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
mapfile -t IPS < <(kubectl get pods -n demo -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
echo; echo "==> pod to pod, every pair (the server reports the client address it saw: no NAT)"
for i in "${!PODS[@]}"; do
  for j in "${!IPS[@]}"; do
    seen=$(podnet exec --name "$LAB" -n demo "${PODS[$i]}" -- curl -s --max-time 2 "http://${IPS[$j]}:8080/clientip" || echo "FAILED")
    printf '  %-24s -> %-15s saw %s\n' "${PODS[$i]}" "${IPS[$j]}" "$seen"
  done
done

echo; echo "==> through the Services: DNS name and ClusterIP from a pod, NodePort and LoadBalancer from outside"
LB=$(kubectl get svc web-lb -n demo -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
printf '  %-58s %s\n' "pod ${PODS[0]}: curl http://web.demo/hostname" \
  "$(podnet exec --name "$LAB" -n demo "${PODS[0]}" -- curl -s --max-time 2 http://web.demo/hostname || echo FAILED)"
printf '  %-58s %s\n' "external host: curl http://172.18.0.3:30080/hostname (NodePort)" \
  "$(podnet exec --name "$LAB" --host external -- curl -s --max-time 2 http://172.18.0.3:30080/hostname || echo FAILED)"
for _ in $(seq 50); do  # the LoadBalancer IP is announced within a second or two
  out=$(podnet exec --name "$LAB" --host external -- curl -s --max-time 1 "http://$LB/clientip" || true)
  [ -n "$out" ] && break
  sleep 0.2
done
printf '  %-58s %s\n' "external host: curl http://$LB/clientip (LoadBalancer, Local)" "${out:-FAILED} (the client's own address)"
echo; echo "\$ podnet netpol matrix --name $LAB -n demo --ports 8080"
podnet netpol matrix --name "$LAB" -n demo --ports 8080 || true

cat <<MSG

The lab keeps running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get pods -A -o wide
  kubectl scale deployment web -n demo --replicas=6
  podnet exec --name $LAB -n demo ${PODS[0]} -- /agnhost connect ${IPS[1]}:8080 --timeout=1s
  podnet exec --name $LAB -n demo ${PODS[0]} -- dig web.demo.svc.cluster.local
  podnet netpol drops --name $LAB -n demo
  podnet status --name $LAB
Remove it with: scripts/demo.sh down
MSG
