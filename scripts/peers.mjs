// `npm run peers -- NAME…`: builds or starts a test peer by hand (see test/peers/README.md).
//   kubernetes   build kube-apiserver, kubeadm, etcd and kwok (cached); `npm start` then offers the kwok provider
//   machines     build the air-gapped node image for booted hosts (cached; test/peers/machines.sh build)
//   mariadb | redis | slapd | vcsim | redfish | ipmi | keystone   start the private instance and print how to reach it
import { INFRASTRUCTURE_PEERS, kubernetesPeers, output, say } from './lib.mjs';

const names = process.argv.slice(2);
if (names.length === 0) {
  say('usage: npm run peers -- kubernetes|machines|mariadb|redis|slapd|vcsim|redfish|ipmi|keystone …');
  process.exit(2);
}
for (const name of names) {
  try {
    if (name === 'kubernetes') {
      const manifest = JSON.parse(kubernetesPeers());
      say(
        `Kubernetes ${manifest.kubernetesVersions.join(', ')} ready in ${manifest.binDir}; \`npm start\` now offers the provider kwok`,
      );
    } else if (name === 'machines') {
      const image = JSON.parse(output('bash', ['test/peers/machines.sh', 'build']));
      say(
        `node image (Kubernetes ${image.kubernetesVersion}) ready: ${image.disk}; \`bash test/peers/machines.sh start [N]\` boots hosts from it`,
      );
      console.log(JSON.stringify(image));
    } else if (['mariadb', 'redis', 'slapd', ...INFRASTRUCTURE_PEERS.map(([peer]) => peer)].includes(name)) {
      console.log(output('bash', [`test/peers/${name}.sh`, 'start']));
    } else {
      say(`unknown peer ${name} (kubernetes, machines, mariadb, redis, slapd, vcsim, redfish, ipmi, keystone)`);
      process.exit(2);
    }
  } catch (error) {
    say(`peer ${name} failed: ${error.message}`);
    process.exit(1);
  }
}
