package main

// Masking of SOPS-encrypted Secret data as `flux build kustomization` does it (flux2 v2.9.5,
// internal/build/build.go, Apache-2.0, The Flux authors): that package is internal to the
// CLI, so its functions are carried here unchanged in behaviour.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	sopsMask            = "**SOPS**"
	dockercfgSecretType = "kubernetes.io/dockerconfigjson"
)

func maskSopsData(res *resource.Resource) error {
	if res.GetKind() != "Secret" {
		return nil
	}
	sopsMess := base64.StdEncoding.EncodeToString([]byte(sopsMask))
	dataMap := res.GetDataMap()
	stringDataMap := getStringDataMap(res)
	asYaml, err := res.AsYAML()
	if err != nil {
		return fmt.Errorf("failed to mask secret %s sops data: %w", res.GetName(), err)
	}

	if bytes.Contains(asYaml, []byte("sops:")) && bytes.Contains(asYaml, []byte("mac: ENC[")) {
		_ = res.PipeE(yaml.FieldClearer{Name: "sops"})
		secretType, err := res.GetFieldValue("type")
		if errors.As(err, &yaml.NoFieldError{}) {
			secretType = "Opaque"
		} else if err != nil {
			return fmt.Errorf("failed to mask secret %s sops data: %w", res.GetName(), err)
		}
		if v, ok := secretType.(string); ok && v == dockercfgSecretType {
			maskDockerconfigjson(dataMap, true)
			maskDockerconfigjson(stringDataMap, false)
		} else {
			for k := range dataMap {
				dataMap[k] = sopsMess
			}
			for k := range stringDataMap {
				stringDataMap[k] = sopsMask
			}
		}
	} else {
		for k, v := range dataMap {
			data, err := base64.StdEncoding.DecodeString(v)
			if corrupt := base64.CorruptInputError(0); errors.As(err, &corrupt) {
				return fmt.Errorf("failed to mask secret %s sops data: %w", res.GetName(), corrupt)
			}
			if bytes.Contains(data, []byte("sops")) && bytes.Contains(data, []byte("ENC[")) {
				dataMap[k] = sopsMess
			}
		}
		for k, v := range stringDataMap {
			if bytes.Contains([]byte(v), []byte("sops")) && bytes.Contains([]byte(v), []byte("ENC[")) {
				stringDataMap[k] = sopsMess
			}
		}
	}

	res.SetDataMap(dataMap)
	if len(stringDataMap) > 0 {
		if err := res.SetMapField(yaml.NewMapRNode(&stringDataMap), "stringData"); err != nil {
			return fmt.Errorf("failed to mask secret %s sops data: %w", res.GetName(), err)
		}
	}
	return nil
}

func getStringDataMap(rn *resource.Resource) map[string]string {
	n, err := rn.Pipe(yaml.Lookup("stringData"))
	if err != nil {
		return nil
	}
	result := map[string]string{}
	_ = n.VisitFields(func(node *yaml.MapNode) error {
		result[yaml.GetValue(node.Key)] = yaml.GetValue(node.Value)
		return nil
	})
	return result
}

func maskDockerconfigjson(dataMap map[string]string, encode bool) {
	maskJSON, _ := json.Marshal(struct {
		Mask string `json:"mask"`
	}{Mask: sopsMask})
	for k := range dataMap {
		if encode {
			dataMap[k] = base64.StdEncoding.EncodeToString(maskJSON)
		} else {
			dataMap[k] = string(maskJSON)
		}
	}
}
