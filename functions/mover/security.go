package mover

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// capabilities are what each mode needs of root, and no more. The mover
// runs as root because a volume's files belong to any user:
//   - export reads every file and directory whatever its mode
//     (DAC_READ_SEARCH);
//   - restore writes them back with their owners and modes (CHOWN,
//     FOWNER, DAC_OVERRIDE, and FSETID so that chown keeps set-id bits);
//   - record and forget touch only the repository.
var capabilities = map[string][]corev1.Capability{
	ModeExport:  {"DAC_READ_SEARCH"},
	ModeRestore: {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"},
}

// SecurityContext is the mover container's: root with only its mode's
// capabilities, no privilege escalation, the runtime's default seccomp
// profile.
func SecurityContext(mode string) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser:                ptr.To[int64](0),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: capabilities[mode]},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
